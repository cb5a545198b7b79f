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

        Run(300);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long tensorsAfter = Tensor.TotalCount;
        long rssGrowth = Process.GetCurrentProcess().WorkingSet64 - rssBefore;

        Assert.Equal(tensorsBefore, tensorsAfter);
        Assert.True(rssGrowth < 32L << 20, $"resident memory grew by {rssGrowth >> 20} MiB over 300 generations");
    }
}
