using System.CommandLine;
using TimeBill.Core.Model;

namespace TimeBill.Cli.Commands;

/// <summary>Options shared by commands that load a model folder or build one from a shape config.</summary>
internal static class ModelOptions
{
    public static Option<string?> Model() => new("--model") { Description = "Hugging Face model folder (config.json, safetensors, tokenizer.model)." };

    public static Option<string?> Shape() => new("--shape") { Description = "config.json of a released model: built with seeded random weights (speed work)." };

    public static Option<int> Threads() => new("--threads") { Description = "Intra-op threads for libtorch.", DefaultValueFactory = _ => 2 };

    public static Option<bool> Json() => new("--json") { Description = "Print one JSON object on stdout." };

    /// <summary>Loads <c>--model</c> or builds <c>--shape</c>; exactly one must be given.</summary>
    public static CausalLanguageModel Open(string? model, string? shape, long seed = 0)
    {
        if ((model is null) == (shape is null))
            throw new ArgumentException("give exactly one of --model DIR or --shape CONFIG.json.");
        return model is not null ? CausalLanguageModel.Load(model) : CausalLanguageModel.CreateRandom(ModelConfig.Load(shape!), seed);
    }

    public static void SetThreads(int threads)
    {
        if (threads <= 0) throw new ArgumentException($"--threads must be positive, got {threads}.");
        TimeBill.Core.Native.TorchSharpNativeLoader.EnsureLoaded();
        TorchSharp.torch.set_num_threads(threads);
    }
}
