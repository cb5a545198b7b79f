using System.Diagnostics;
using TimeBill.Core.Generation;
using TimeBill.Core.Model;
using TimeBill.Core.Sampling;
using TimeBill.Core.Tokenization;
using TimeBill.Tests.Support;
using static TorchSharp.torch;

namespace TimeBill.Tests.Generation;

/// <summary>Runs alone: it counts live native tensors process-wide.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialCollection
{
    /// <summary>The collection name.</summary>
    public const string Name = "serial";
}

/// <summary>A process that generates for weeks must not grow: live tensors and memory stay flat.</summary>
[Collection(SerialCollection.Name)]
public sealed class NativeMemoryTests
{
    [Fact]
    public void LiveTensorsAndProcessMemoryStayFlatOverHundredsOfGenerations()
    {
        string folder = SharedAssets.Model("stories260K");
        using var model = CausalLanguageModel.Load(folder);
        using var generator = new TextGenerator(model, TextTokenizer.Load(folder));
        var options = new GenerationOptions { MaxNewTokens = 24, Sampling = new SamplingOptions { Temperature = 1, TopP = 0.9f, Seed = 7 } };
        string[] prompts = ["Once upon a time", "The little bird was sad because", "Lily and Tom went to the park."];

        void Run(int count)
        {
            for (int i = 0; i < count; i++) generator.Generate(generator.Tokenizer.EncodePrompt(prompts[i % prompts.Length]), options);
        }

        Run(50); // warm-up: caches, allocator pools, JIT
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long tensorsBefore = Tensor.TotalCount;
        long rssBefore = Process.GetCurrentProcess().WorkingSet64;
        long? nativeBefore = NativeHeap.InUseBytes();

        Run(300);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long tensorsAfter = Tensor.TotalCount;
        long rssGrowth = Process.GetCurrentProcess().WorkingSet64 - rssBefore;
        long? nativeGrowth = NativeHeap.InUseBytes() - nativeBefore;

        Assert.Equal(tensorsBefore, tensorsAfter);
        if (nativeGrowth is long native) Assert.True(native < 16L << 20, $"the C heap grew by {native >> 10} KiB over 300 generations");
        Assert.True(rssGrowth < 32L << 20, $"resident memory grew by {rssGrowth >> 20} MiB over 300 generations");
    }

    [Fact]
    public void APrefillFreesEachLayersIntermediatesBeforeTheNextLayerRuns()
    {
        using var model = CausalLanguageModel.Load(SharedAssets.Model("stories260K"));
        int[] prompt = [.. Enumerable.Range(0, 96).Select(i => 1 + i * 7 % (model.Config.VocabSize - 1))];
        using var cache = model.CreateCache(prompt.Length);
        var live = new LiveTensorsPerLayer();
        using (model.Forward(prompt, cache, observer: live)) { }

        Assert.Equal(model.Config.LayerCount, live.Counts.Count);
        // The same tensors are alive at every layer's end: nothing a layer made outlives it but its output.
        Assert.True(live.Counts.Max() - live.Counts.Min() <= 1, $"live tensors at each layer's end: {string.Join(", ", live.Counts)}");
    }

    private sealed class LiveTensorsPerLayer : IForwardObserver
    {
        public List<long> Counts { get; } = [];
        public void OnHiddenState(int layer, Tensor hidden) => Counts.Add(Tensor.TotalCount);
    }
}
