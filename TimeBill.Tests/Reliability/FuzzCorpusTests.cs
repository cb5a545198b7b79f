using TimeBill.Core.Checkpoints;
using TimeBill.Fuzz;
using TimeBill.Templates;

namespace TimeBill.Tests.Reliability;

/// <summary>
/// Replays the fuzz corpus (FuzzCorpus/PARSER: seeds from the real files, and what tools/fuzz.sh found) through the fuzz
/// targets in-process: every entry loads as a valid file or fails with the parser's documented exception
/// (<see cref="ModelLoadException"/> naming the file, or for templates <see cref="TemplateSyntaxException"/>), within a time
/// and memory bound.
/// </summary>
public sealed class FuzzCorpusTests
{
    private static readonly TimeSpan TimeBound = TimeSpan.FromSeconds(10);
    private const long AllocationBound = 256L << 20;

    private static readonly Lazy<string> Corpus = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "TimeBill.sln")))
                return Path.Combine(dir.FullName, "TimeBill.Tests", "Reliability", "FuzzCorpus");
        throw new DirectoryNotFoundException("TimeBill.sln not found above the test folder; cannot locate the fuzz corpus.");
    });

    public static TheoryData<string, string> Entries()
    {
        var data = new TheoryData<string, string>();
        foreach (string parser in FuzzTargets.Names)
            foreach (string file in Directory.EnumerateFiles(Path.Combine(Corpus.Value, parser)).Order(StringComparer.Ordinal))
                data.Add(parser, Path.GetFileName(file));
        return data;
    }

    [Fact]
    public void EveryParserHasSeedsAndTheCorpusStaysSmall()
    {
        Assert.Equal(FuzzTargets.Names.Order(), Directory.EnumerateDirectories(Corpus.Value).Select(Path.GetFileName).Order());
        foreach (string parser in FuzzTargets.Names)
            Assert.True(Directory.EnumerateFiles(Path.Combine(Corpus.Value, parser), "seed-*").Count() >= 1, $"{parser} has no seed");
        long bytes = Directory.EnumerateFiles(Corpus.Value, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        Assert.True(bytes < 512 << 10, $"the corpus holds {bytes >> 10} KiB");
    }

    [Theory]
    [MemberData(nameof(Entries))]
    public async Task ACorpusEntryLoadsOrFailsWithTheDocumentedException(string parser, string name)
    {
        byte[] data = File.ReadAllBytes(Path.Combine(Corpus.Value, parser, name));
        long allocated = 0;
        var run = Task.Factory.StartNew(() =>
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            try { FuzzTargets.Run(parser, data); }
            finally { allocated = GC.GetAllocatedBytesForCurrentThread() - before; }
        }, TaskCreationOptions.LongRunning);
        Assert.True(await Task.WhenAny(run, Task.Delay(TimeBound)) == run, $"{parser}/{name} ran past {TimeBound}");
        if (run.Exception?.InnerException is { } e)
        {
            Assert.True(FuzzTargets.IsDocumented(parser, e), $"{parser}/{name} threw an undocumented {e}");
            if (FuzzTargets.FileName(parser) is { } file)
                Assert.Contains(file, e.Message, StringComparison.Ordinal);
        }
        Assert.True(allocated < AllocationBound, $"{parser}/{name} allocated {allocated >> 20} MiB");
    }
}
