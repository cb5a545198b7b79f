using System.Diagnostics;
using TimeBill.Core.Native;
using TimeBill.Tests.Support;

namespace TimeBill.Tests.Native;

/// <summary>TorchSharp loads in a fresh process on this machine, with a fresh cache, also under concurrent first use.</summary>
public sealed class TorchSharpLoadTests
{
    private static string CliPath => Path.Combine(AppContext.BaseDirectory, "timebill.dll");

    private static Process StartForward(string cacheFolder)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { CliPath, "forward", "--model", SharedAssets.Model("stories260K"), "--ids", "1,403,407", "--json" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["TIMEBILL_CACHE"] = cacheFolder;
        return Process.Start(start)!;
    }

    [Fact]
    public void FreshProcessesLoadTorchSharpConcurrentlyFromAnEmptyCache()
    {
        string cache = Directory.CreateTempSubdirectory("timebill-native-").FullName;
        try
        {
            var processes = Enumerable.Range(0, 3).Select(_ => StartForward(cache)).ToArray();
            foreach (var process in processes)
            {
                string output = process.StandardOutput.ReadToEnd();
                string errors = process.StandardError.ReadToEnd();
                Assert.True(process.WaitForExit(120_000), "the CLI did not finish within two minutes");
                Assert.True(process.ExitCode == 0, $"exit code {process.ExitCode}: {errors}");
                Assert.Contains("\"argmax\":[403,407,261]", output);
            }
            // On a libstdc++ without GLIBCXX_3.4.32 exactly one patched copy exists, and no temporary files are left.
            var files = Directory.GetFiles(cache, "*", SearchOption.AllDirectories);
            Assert.All(files, f => Assert.EndsWith("libLibTorchSharp.so", f));
            Assert.True(files.Length <= 1);
        }
        finally { Directory.Delete(cache, recursive: true); }
    }

    [Fact]
    public void PatchMarksOnlyTheNamedVersionWeak()
    {
        string original = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        if (!OperatingSystem.IsLinux() || !File.Exists(original)) return;
        byte[] bytes = File.ReadAllBytes(original);
        byte[] patched = (byte[])bytes.Clone();

        int marked = ElfVersionNeedPatcher.MarkWeak(patched, new HashSet<string> { "GLIBCXX_3.4.32" }, original);

        Assert.Equal(1, marked);
        var changed = Enumerable.Range(0, bytes.Length).Where(i => bytes[i] != patched[i]).ToArray();
        Assert.Single(changed);
        Assert.Equal(bytes[changed[0]] | 0x2, patched[changed[0]]); // VER_FLG_WEAK added, nothing else
    }

    [Fact]
    public void NonElfInputIsRejected() =>
        Assert.Throws<InvalidDataException>(() => ElfVersionNeedPatcher.MarkWeak(new byte[128], new HashSet<string> { "X" }, "fake.so"));
}
