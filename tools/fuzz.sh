#!/usr/bin/env bash
# Fuzzes one file parser with AFL++ and SharpFuzz for N minutes, then adds what it found to the checked-in corpus.
#
#   tools/fuzz.sh PARSER [MINUTES]     PARSER: safetensors config tokenizer-model tokenizer-json gguf template, or all
#                                      (one after the other); MINUTES per parser, default 2 (FUZZ_SECONDS overrides)
#
# Needs afl++ (Debian: apt-get install afl++) and the SharpFuzz.CommandLine tool (installed under
# ~/.cache/timebill/sharpfuzz on first use). Builds tools/TimeBill.Fuzz, instruments TimeBill.Core, TimeBill.Templates
# and the tokenizer libraries, runs afl-fuzz on TimeBill.Tests/Reliability/FuzzCorpus/PARSER, and copies into that
# folder every crash and hang, and up to FUZZ_KEEP (default 24) new-coverage queue entries no larger than
# FUZZ_MAX_BYTES (default 4096), named by content hash. The fuzzer's own output stays under tools/TimeBill.Fuzz/bin/fuzz
# (ignored; removed by `git clean -X`).
set -euo pipefail
parsers=${1:?usage: tools/fuzz.sh PARSER|all [MINUTES]}
minutes=${2:-2}
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$repo/tools/TimeBill.Fuzz/bin/fuzz
keep=${FUZZ_KEEP:-24}
max_bytes=${FUZZ_MAX_BYTES:-4096}
[[ $parsers == all ]] && parsers=$(ls "$repo/TimeBill.Tests/Reliability/FuzzCorpus")
for parser in $parsers; do
  [[ -d $repo/TimeBill.Tests/Reliability/FuzzCorpus/$parser ]] ||
    { echo "no corpus folder for $parser (parsers: $(ls "$repo/TimeBill.Tests/Reliability/FuzzCorpus" | tr '\n' ' '))" >&2; exit 2; }
done
command -v afl-fuzz >/dev/null || { echo "afl-fuzz not found: apt-get install afl++" >&2; exit 2; }

tools=${SHARPFUZZ_TOOLS:-$HOME/.cache/timebill/sharpfuzz}
if [[ ! -x $tools/sharpfuzz ]]; then
  dotnet tool install --tool-path "$tools" SharpFuzz.CommandLine --version 2.3.0
fi

# A fresh publish each time: sharpfuzz instruments in place and refuses an assembly it already instrumented.
rm -rf "$work/app"
dotnet publish "$repo/tools/TimeBill.Fuzz/TimeBill.Fuzz.csproj" -c Release -o "$work/app" --nologo -v quiet
# The tokenizer files are parsed inside Microsoft.ML.Tokenizers and Google.Protobuf: instrumented too, or AFL sees no edges there.
for assembly in TimeBill.Core TimeBill.Templates Microsoft.ML.Tokenizers Google.Protobuf; do "$tools/sharpfuzz" "$work/app/$assembly.dll"; done

export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
export AFL_FORKSRV_INIT_TMOUT=60000

fuzz() {  # fuzz PARSER: one afl-fuzz run, its figures, and its findings copied into the corpus
  local parser=$1 corpus=$repo/TimeBill.Tests/Reliability/FuzzCorpus/$1 out=$work/out-$1
  rm -rf "$out"
  afl-fuzz -V "${FUZZ_SECONDS:-$((minutes * 60))}" -t 2000 -m none -i "$corpus" -o "$out" -- dotnet "$work/app/TimeBill.Fuzz.dll" "$parser" \
    > "$work/afl-$parser.log" 2>&1 || { tail -30 "$work/afl-$parser.log" >&2; exit 1; }

  stats=$out/default/fuzzer_stats
  echo "$parser: $(grep -E '^(run_time|execs_done|execs_per_sec|corpus_count|edges_found|total_edges|bitmap_cvg|saved_crashes|saved_hangs) ' "$stats" | tr -s ' ' | tr '\n' ' ')"

  added=0
  copy() {  # copy FILE PREFIX: into the corpus under PREFIX-<sha1>, unless it is there already
    local name
    name=$1-$(sha1sum "$2" | cut -c1-16)
    [[ -e $corpus/$name ]] || { cp "$2" "$corpus/$name"; added=$((added + 1)); }
  }
  for f in "$out"/default/crashes/id:* "$out"/default/hangs/id:*; do
    [[ -f $f ]] && copy "$( [[ $f == */crashes/* ]] && echo crash || echo hang )" "$f"
  done
  kept=0
  for f in "$out"/default/queue/id:*+cov*; do
    [[ -f $f ]] || continue
    (( kept < keep )) || break
    (( $(stat -c %s "$f") <= max_bytes )) || continue
    copy afl "$f"
    kept=$((kept + 1))
  done
  echo "$parser: added $added corpus entries to ${corpus#$repo/}"
}

for parser in $parsers; do fuzz "$parser"; done
