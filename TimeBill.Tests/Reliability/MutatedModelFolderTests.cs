using System.Diagnostics;
using TimeBill.Core.Checkpoints;
using TimeBill.Core.Model;
using TimeBill.Core.Tokenization;
using TimeBill.Tests.Support;

namespace TimeBill.Tests.Reliability;

/// <summary>
/// Every corrupted copy of stories260K's folder (<see cref="ModelFolderMutations"/>) either fails to load with a
/// <see cref="ModelLoadException"/> naming one of its files, or loads into exactly the original model: the same
/// logits and the same generation settings, within a time and memory bound. A corrupted tokenizer.model may also
/// load (a flipped byte inside a piece is still a valid model), but then it must encode and decode.
/// </summary>
public sealed class MutatedModelFolderTests
{
    private static readonly string Source = SharedAssets.Model("stories260K");
    private static readonly string[] Files = ["config.json", "generation_config.json", "model.safetensors", "tokenizer.model"];
    private static readonly Lazy<IReadOnlyList<ModelFolderMutations.Mutation>> Corpus = new(() => ModelFolderMutations.All(Source));
    private static readonly Lazy<(float[] Logits, GenerationConfig Generation, int[] Ids)> Original = new(() => Observe(Source));
    private static readonly int[] Probe = [1, 403, 407, 261, 11, 87];

    public static TheoryData<string> Names()
    {
        var data = new TheoryData<string>();
        foreach (var mutation in Corpus.Value) data.Add(mutation.Name);
        return data;
    }

    [Fact]
    public void TheCorpusHoldsEveryKindOfCorruptionAndNamesAreUnique()
    {
        var names = Corpus.Value.Select(m => m.Name).ToList();
        Assert.True(names.Count >= 454, $"the corpus has {names.Count} mutations");
        Assert.Equal(names.Count, names.Distinct().Count());
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void ACorruptedFolderFailsNamingItsFileOrLoadsTheOriginal(string name)
    {
        var mutation = Corpus.Value.Single(m => m.Name == name);
        string folder = Directory.CreateTempSubdirectory("timebill-mutation-").FullName;
        try
        {
            foreach (string file in Files) File.Copy(Path.Combine(Source, file), Path.Combine(folder, file));
            mutation.Apply(folder);
            long allocated = GC.GetTotalAllocatedBytes();
            var clock = Stopwatch.StartNew();
            (float[] Logits, GenerationConfig Generation, int[] Ids) loaded;
            try
            {
                loaded = Observe(folder);
            }
            catch (ModelLoadException e)
            {
                Assert.True(Files.Any(f => e.Message.Contains(f, StringComparison.Ordinal)) || e.Message.Contains(folder, StringComparison.Ordinal),
                    $"the message names no file of the folder: {e.Message}");
                AssertBounded(clock, allocated);
                return;
            }
            AssertBounded(clock, allocated);
            if (mutation.TokenizerOnly) return; // it encoded and decoded the probe text
            var original = Original.Value;
            Assert.Equal(original.Logits, loaded.Logits);
            Assert.Equal(original.Generation.BosTokenId, loaded.Generation.BosTokenId);
            Assert.Equal(original.Generation.StopTokenIds, loaded.Generation.StopTokenIds);
            Assert.Equal(original.Ids, loaded.Ids);
        }
        finally { Directory.Delete(folder, recursive: true); }
    }

    private static void AssertBounded(Stopwatch clock, long allocatedBefore)
    {
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"loading took {clock.Elapsed}");
        long allocated = GC.GetTotalAllocatedBytes() - allocatedBefore;
        Assert.True(allocated < 256L << 20, $"loading allocated {allocated >> 20} MiB");
    }

    /// <summary>Loads the folder, runs the probe ids through it and encodes a text: what a corrupted load would change.</summary>
    private static (float[] Logits, GenerationConfig Generation, int[] Ids) Observe(string folder)
    {
        var tokenizer = TextTokenizer.Load(folder, 1);
        int[] ids = tokenizer.EncodePrompt("Once upon a time, a little robot moved the red block.");
        _ = tokenizer.Decode(ids);
        using var model = CausalLanguageModel.Load(folder);
        using var cache = model.CreateCache(Probe.Length);
        using var logits = model.Forward(Probe, cache, allLogits: true);
        return (logits.data<float>().ToArray(), model.GenerationConfig, ids);
    }
}
