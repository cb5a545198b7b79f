using TimeBill.Core.Checkpoints.Gguf;
using TimeBill.Core.Model;
using TimeBill.Tests.Support;

namespace TimeBill.Tests.Gguf;

/// <summary>GGUF files of the shared models written by <see cref="GgufExport"/> in each type, once per test run, in a temporary folder.</summary>
public sealed class GgufFilesFixture : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("gguf-models-").FullName;
    private readonly Dictionary<string, string> _files = [];
    private readonly Lock _gate = new();

    /// <summary>../shared/models/<paramref name="model"/> as a GGUF file of <paramref name="type"/>, with its tokenizer when it has one.</summary>
    public string Get(string model, string type)
    {
        lock (_gate)
        {
            string key = $"{model}-{type}";
            if (_files.TryGetValue(key, out string? path)) return path;
            path = Path.Combine(_folder, key + ".gguf");
            string folder = SharedAssets.Model(model);
            using var lm = CausalLanguageModel.Load(folder);
            bool tokenizer = File.Exists(Path.Combine(folder, "tokenizer.model")) || File.Exists(Path.Combine(folder, "tokenizer.json"));
            GgufExport.Write(lm, path, type, tokenizer ? folder : null);
            return _files[key] = path;
        }
    }

    /// <summary>
    /// A random-weight Llama shape whose rows are whole 256-element super-blocks (hidden 256, MLP 512, head 64, GQA 4/2,
    /// vocabulary 1024), so K-quant files hold K-quant matrices, as <paramref name="type"/>.
    /// </summary>
    public string GetBlockShape(string type)
    {
        lock (_gate)
        {
            string key = $"block-shape-{type}";
            if (_files.TryGetValue(key, out string? path)) return path;
            path = Path.Combine(_folder, key + ".gguf");
            using var lm = CausalLanguageModel.CreateRandom(BlockShape, seed: 7);
            GgufExport.Write(lm, path, type);
            return _files[key] = path;
        }
    }

    /// <summary>The F32 block shape quantized by llama.cpp's own quantizer to <paramref name="ftype"/> (e.g. Q4_K_M).</summary>
    public string GetQuantizedByLlamaCpp(LLama.Native.LLamaFtype ftype)
    {
        string source = GetBlockShape("f32");
        lock (_gate)
        {
            string key = $"llama-cpp-{ftype}";
            if (_files.TryGetValue(key, out string? path)) return path;
            path = Path.Combine(_folder, key + ".gguf");
            if (!LLama.LLamaQuantizer.Quantize(source, path, ftype, nthread: 2))
                throw new InvalidOperationException($"llama.cpp could not quantize {source} to {ftype}.");
            return _files[key] = path;
        }
    }

    /// <summary>The shape of <see cref="GetBlockShape"/>.</summary>
    public static ModelConfig BlockShape { get; } = new()
    {
        Architecture = ModelArchitecture.Llama,
        HiddenSize = 256,
        IntermediateSize = 512,
        LayerCount = 2,
        HeadCount = 4,
        KvHeadCount = 2,
        HeadDim = 64,
        VocabSize = 1024,
        MaxPositions = 512,
        RmsNormEps = 1e-5,
        Rope = new RopeScaling(10000),
        TieWordEmbeddings = false,
        AttentionBias = false,
        BosTokenId = 1,
        EosTokenIds = [2],
    };

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
