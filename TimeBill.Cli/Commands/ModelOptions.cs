using System.CommandLine;
using TimeBill.Core.Checkpoints;
using TimeBill.Core.Model;
using TimeBill.Core.Tokenization;

namespace TimeBill.Cli.Commands;

/// <summary>Options shared by commands that load a model folder or build one from a shape config.</summary>
internal static class ModelOptions
{
    /// <summary>The model that ships with the command line (models/stories260K beside the program), used when no model is given.</summary>
    public static string DefaultModelFolder => Path.Combine(AppContext.BaseDirectory, "models", "stories260K");

    public static Option<string?> Model() => new("--model") { Description = "Hugging Face model folder (config.json, safetensors, tokenizer) or GGUF file; default with no --shape: the bundled stories260K." };

    /// <summary><c>--model</c> defaulting to <see cref="DefaultModelFolder"/>.</summary>
    public static Option<string> ModelOrDefault() => new("--model")
    {
        Description = "Hugging Face model folder or GGUF file (default: the bundled stories260K).",
        DefaultValueFactory = _ => DefaultModelFolder,
    };

    /// <summary><c>--weights</c>: how the matrices of <c>--model</c> are held (<see cref="ModelLoadOptions.Weights"/>).</summary>
    public static Option<string> Weights() => new("--weights")
    {
        Description = $"How the model's matrices are held: {string.Join(", ", ModelLoadOptions.WeightFormatNames)}. stored: float32 for a folder, the file's types for GGUF; "
            + "f16, bf16, q8_0, q4_0 quantize a safetensors folder at load, one tensor at a time.",
        DefaultValueFactory = _ => "stored",
    };

    /// <summary>The load options <c>--weights</c> names.</summary>
    public static ModelLoadOptions LoadOptions(string? weights) =>
        new() { Weights = weights is null ? WeightFormat.AsStored : ModelLoadOptions.ParseWeights(weights) };

    /// <summary>Loads <paramref name="model"/> as <c>--weights</c> says.</summary>
    public static CausalLanguageModel Load(string model, string? weights) => CausalLanguageModel.Load(model, LoadOptions(weights));

    public static Option<string?> Shape() => new("--shape") { Description = "config.json of a released model: built with seeded random weights (speed work)." };

    public static Option<int> Threads() => new("--threads") { Description = "Intra-op threads for libtorch.", DefaultValueFactory = _ => 2 };

    public static Option<bool> Json() => new("--json") { Description = "Print one JSON object on stdout." };

    /// <summary>Loads <c>--model</c> (as <c>--weights</c> says) or builds <c>--shape</c>; at most one may be given, neither loads the bundled model.</summary>
    public static CausalLanguageModel Open(string? model, string? shape, long seed = 0, string? weights = null)
    {
        if (model is not null && shape is not null)
            throw new ArgumentException("give one of --model DIR or --shape CONFIG.json, not both.");
        var options = LoadOptions(weights);
        if (shape is not null && options.Weights != WeightFormat.AsStored)
            throw new ArgumentException("--weights applies to --model; --shape builds float32 random weights (write them with `convert --type` to get another format).");
        if (shape is null) model ??= DefaultModelFolder;
        return model is not null ? CausalLanguageModel.Load(model, options) : CausalLanguageModel.CreateRandom(ModelConfig.Load(shape!), seed);
    }

    /// <summary>
    /// The tokenizer of a model folder without loading its weights; a SentencePiece model's BOS comes from
    /// generation_config.json or config.json, as <see cref="CausalLanguageModel.Load"/> reads it.
    /// </summary>
    public static TextTokenizer LoadTokenizer(string folder)
    {
        if (File.Exists(folder) && folder.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase)) return TextTokenizer.Load(folder);
        if (!Directory.Exists(folder)) throw new ModelLoadException(folder, "model folder not found.");
        string generation = Path.Combine(folder, "generation_config.json"), config = Path.Combine(folder, "config.json");
        int? bos = File.Exists(generation) ? GenerationConfig.Load(generation).BosTokenId
            : File.Exists(config) ? ModelConfig.Load(config).BosTokenId : null;
        return TextTokenizer.Load(folder, bos);
    }

    public static void SetThreads(int threads)
    {
        if (threads <= 0) throw new ArgumentException($"--threads must be positive, got {threads}.");
        TimeBill.Core.Native.TorchSharpNativeLoader.EnsureLoaded();
        TorchSharp.torch.set_num_threads(threads);
    }
}
