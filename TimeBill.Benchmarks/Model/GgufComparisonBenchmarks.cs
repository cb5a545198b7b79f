using BenchmarkDotNet.Attributes;
using LLama;
using LLama.Common;
using LLama.Native;
using TimeBill.Core.Cache;
using TimeBill.Core.Checkpoints.Gguf;
using TimeBill.Core.Generation;
using TimeBill.Core.Model;

namespace TimeBill.Benchmarks.Model;

/// <summary>
/// The same GGUF file through this library and through llama.cpp (LLamaSharp, the baseline), 2 threads: a 512-token
/// prefill, and 64 decode steps after it. Files of the SmolLM2-135M and Llama-3.2-1B shapes (random weights) are written
/// once by <see cref="GgufExport"/> into the temporary folder and reused by later runs.
/// </summary>
public class GgufComparisonBenchmarks
{
    private const int PromptTokens = 512, DecodeSteps = 64;
    private int[] _prompt = [];
    private CausalLanguageModel? _model;
    private GenerationEngine? _engine;
    private KvCache? _cache;
    private float[] _logits = [];
    private LLamaWeights? _weights;
    private LLamaContext? _context;

    /// <summary>The shape (a config in ../shared/model-shapes).</summary>
    [ParamsSource(nameof(Shapes))]
    public string Shape { get; set; } = "smollm2-135m";

    /// <summary>The weights' type in the file.</summary>
    [ParamsSource(nameof(Types))]
    public string Type { get; set; } = "q8_0";

    /// <summary>Every shape, or the comma-separated list in <c>$TIMEBILL_GGUF_SHAPES</c>.</summary>
    public static IEnumerable<string> Shapes => FromEnvironment("TIMEBILL_GGUF_SHAPES") ?? ["smollm2-135m", "llama-3.2-1b"];

    /// <summary>Every type, or the comma-separated list in <c>$TIMEBILL_GGUF_TYPES</c>.</summary>
    public static IEnumerable<string> Types => FromEnvironment("TIMEBILL_GGUF_TYPES") ?? ["f32", "bf16", "q8_0", "q4_0", "q4_k", "q6_k"];

    private static string[]? FromEnvironment(string name) =>
        Environment.GetEnvironmentVariable(name)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary><c>timebill</c> or <c>llama.cpp</c>.</summary>
    [Params("llama.cpp", "timebill")]
    public string Runtime { get; set; } = "timebill";

    /// <summary>The file of <see cref="Shape"/> and <see cref="Type"/>, written on first use.</summary>
    public static string FileOf(string shape, string type)
    {
        string folder = Path.Combine(Path.GetTempPath(), "timebill-gguf");
        Directory.CreateDirectory(folder);
        string path = Path.Combine(folder, $"{shape}-{type}.gguf");
        if (File.Exists(path)) return path;
        using var model = CausalLanguageModel.CreateRandom(ModelConfig.Load(Path.Combine(ModelBenchmarkSubjects.FindShared(), "model-shapes", shape + ".json")), seed: 0);
        GgufExport.Write(model, path, type);
        return path;
    }

    /// <summary>Loads the file into the runtime measured.</summary>
    [GlobalSetup]
    public void Setup()
    {
        string file = FileOf(Shape, Type);
        var random = new Random(0);
        if (Runtime == "timebill")
        {
            ModelBenchmarkSubjects.UseTwoTorchThreads();
            _model = CausalLanguageModel.Load(file);
            _engine = new GenerationEngine(_model);
            _logits = new float[_model.Config.VocabSize];
            _cache = _model.CreateCache(PromptTokens + DecodeSteps);
            _prompt = Enumerable.Range(0, PromptTokens).Select(_ => random.Next(_model.Config.VocabSize)).ToArray();
            return;
        }
        NativeLibraryConfig.All.WithLogCallback((level, message) => { if (level >= LLamaLogLevel.Error) Console.Error.Write(message); });
        var parameters = new ModelParams(file)
        {
            ContextSize = PromptTokens + DecodeSteps, BatchSize = PromptTokens, UBatchSize = PromptTokens, Threads = 2, BatchThreads = 2, GpuLayerCount = 0,
        };
        _weights = LLamaWeights.LoadFromFile(parameters);
        _context = _weights.CreateContext(parameters);
        _prompt = Enumerable.Range(0, PromptTokens).Select(_ => random.Next(_weights.Vocab.Count)).ToArray();
    }

    /// <summary>A fresh 512-token prefill.</summary>
    [Benchmark]
    public float Prefill()
    {
        if (_engine is not null)
        {
            _cache!.Reset();
            _engine.Prefill(_prompt, _cache, _logits);
            return _logits[0];
        }
        _context!.NativeHandle.MemoryClear();
        var batch = new LLamaBatch();
        for (int i = 0; i < _prompt.Length; i++) batch.Add((LLamaToken)_prompt[i], i, LLamaSeqId.Zero, i == _prompt.Length - 1);
        _context.Decode(batch);
        return _context.NativeHandle.GetLogitsIth(_prompt.Length - 1)[0];
    }

    /// <summary>Prefills before each decode iteration, untimed.</summary>
    [IterationSetup(Target = nameof(Decode))]
    public void Prefilled() => Prefill();

    /// <summary>64 decode steps after the prefill.</summary>
    [Benchmark(OperationsPerInvoke = DecodeSteps)]
    public float Decode()
    {
        if (_engine is not null)
        {
            for (int i = 0; i < DecodeSteps; i++) _engine.Decoder.Step(i + 3, _cache!, _logits);
            return _logits[0];
        }
        var batch = new LLamaBatch();
        float last = 0;
        for (int i = 0; i < DecodeSteps; i++)
        {
            batch.Clear();
            batch.Add((LLamaToken)(i + 3), PromptTokens + i, LLamaSeqId.Zero, true);
            _context!.Decode(batch);
            last = _context.NativeHandle.GetLogitsIth(0)[0];
        }
        return last;
    }

    /// <summary>Frees both runtimes' state.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _cache?.Dispose();
        _engine?.Dispose();
        _model?.Dispose();
        _context?.Dispose();
        _weights?.Dispose();
    }
}
