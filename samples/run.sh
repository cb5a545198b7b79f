#!/usr/bin/env bash
# The path a new user takes: pack the libraries into a local feed, restore the samples from it into a fresh
# packages folder, build and run them, and check what they print. Also checks that the C# blocks of README.md
# are the samples' code. Prints "samples: ok" or "samples: FAILED (...)"; exits non-zero on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
samples="$root/samples"
log=$(mktemp -d)

clean_artifacts() {
    rm -rf "$samples/.packages" "$samples/.nuget-packages"
    for project in "$samples"/*/; do rm -rf "$project/bin" "$project/obj"; done
}
trap 'clean_artifacts; rm -rf "$log"' EXIT

fail() {
    echo "samples: FAILED ($1)"
    exit 1
}

# 1. Every ```csharp block of README.md follows a "<!-- sample: PATH -->" line and is that file, verbatim.
readme_blocks=0
while IFS= read -r path; do
    readme_blocks=$((readme_blocks + 1))
    awk -v want="$path" '
        $0 == "<!-- sample: " want " -->" { armed = 1; next }
        armed && /^```csharp$/ { inside = 1; armed = 0; next }
        inside && /^```$/ { exit }
        inside { print }
    ' README.md > "$log/block.cs"
    [ -f "$path" ] || fail "README.md names $path, which does not exist"
    diff -u "$path" "$log/block.cs" > "$log/readme.diff" || { cat "$log/readme.diff"; fail "README.md's block for $path differs from the file"; }
done < <(sed -n 's/^<!-- sample: \(.*\) -->$/\1/p' README.md)
csharp_blocks=$(grep -c '^```csharp$' README.md || true)
[ "$readme_blocks" -eq "$csharp_blocks" ] || fail "README.md has $csharp_blocks C# blocks but $readme_blocks are tied to a sample"

# 2. The packages, as dotnet pack makes them (the tool package, large, is left out).
clean_artifacts
echo "samples: packing the libraries into samples/.packages"
dotnet pack TimeBill.sln -c Release -o "$samples/.packages" -p:TimeBillPackTool=false --nologo -v:quiet > "$log/pack.txt" 2>&1 \
    || { cat "$log/pack.txt"; fail "dotnet pack"; }
ls "$samples/.packages"

# A TimeBill package of the same version already in the global cache would be served instead of the fresh one.
extra=()
global="${NUGET_PACKAGES:-$HOME/.nuget/packages}"
if compgen -G "$global/timebill.*" > /dev/null; then
    echo "samples: the global NuGet cache holds TimeBill packages; restoring without it"
    extra+=(-p:TimeBillGlobalPackages=none)
fi

# 3. Build and run each sample against those packages.
run_sample() {
    local name=$1
    shift
    echo "samples: building $name"
    dotnet build "$samples/$name" -c Release --nologo -v:quiet "${extra[@]}" > "$log/$name.build.txt" 2>&1 \
        || { cat "$log/$name.build.txt"; fail "building $name"; }
    grep -q "timebill.core" "$samples/$name/obj/project.assets.json" || fail "$name did not restore TimeBill.Core"
    echo "samples: running $name"
    timeout 300 dotnet "$samples/$name/bin/Release/net10.0/$name.dll" "$@" | tee "$log/$name.out" \
        || fail "$name exited non-zero"
}

run_sample Quickstart
grep -q "^Once upon a time, there was" "$log/Quickstart.out" || fail "Quickstart did not print a story"

run_sample ControlLoop
ticks=$(grep -cE '^tick +[0-9]+: (Completed|DeadlineExceeded|Skipped|Infeasible) +α=[0-9.]+ ' "$log/ControlLoop.out" || true)
[ "$ticks" -eq 10 ] || fail "ControlLoop printed $ticks tick lines, not 10"
grep -qE '^tick +[0-9]+: Completed ' "$log/ControlLoop.out" || fail "no ControlLoop job completed within its budget"

echo "samples: ok (README code = samples; Quickstart and ControlLoop built from the packed packages and ran: $ticks ticks)"
