using TimeBill.Core.Budget;
using TimeBill.Core.Generation;
using TimeBill.Core.Model;
using TimeBill.Core.Native;
using TimeBill.Core.Planning;
using TimeBill.Core.Tokenization;
using TimeBill.Predictors.ExecutionTime;
using TimeBill.Predictors.Exit;
using TimeBill.Predictors.ResponseLength;

namespace TimeBill.Predictors.Budget;

/// <summary>
/// Wires a <see cref="BudgetedGenerator"/> from a model folder in a few lines:
/// <code>
/// using var generator = new BudgetedGeneratorBuilder("models/stories260K")
///     .WithLengthPredictor("stories260K.rlp")       // timebill train-rlp (optional)
///     .WithExitHeads("stories260K.exit.json")       // timebill train-exit (optional)
///     .Build();
/// </code>
/// Without <see cref="WithProfile"/> the execution-time profile comes from the user's profile cache
/// (<see cref="ProfileCache"/>), or, the first time on a machine, from a short profile (<see cref="QuickProfile"/>)
/// that is then cached; either way the estimator recalibrates from the real jobs. Every file is checked against the
/// model it is used with (identity, and for the profile also data type, threads and machine). The generator owns the
/// model and heads it loaded and frees them on dispose.
/// </summary>
public sealed class BudgetedGeneratorBuilder
{
    private readonly string _modelFolder;
    private string? _profile;
    private string? _lengthPredictor;
    private string? _exitHeads;
    private int _threads = 2;
    private bool _recalibrate = true;
    private bool _warmUp = true;
    private bool _cacheProfiles = true;
    private string? _cacheFolder;
    private EngineOptions _engine = new();
    private ModelLoadOptions _load = ModelLoadOptions.Default;
    private IProgress<ProfilingProgress>? _progress;
    private Action<string>? _warnings;

    /// <summary>Starts from a Hugging Face model folder.</summary>
    public BudgetedGeneratorBuilder(string modelFolder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelFolder);
        _modelFolder = modelFolder;
    }

    /// <summary>The execution-time profile measured for this model, thread count and machine (default: cached or measured, see the class).</summary>
    public BudgetedGeneratorBuilder WithProfile(string path) { _profile = path; return this; }

    /// <summary>How the model's weights are loaded (e.g. quantized to Q8_0 at load); default <see cref="ModelLoadOptions.Default"/>.</summary>
    public BudgetedGeneratorBuilder WithLoadOptions(ModelLoadOptions options) { _load = options ?? throw new ArgumentNullException(nameof(options)); return this; }

    /// <summary>The response-length predictor trained on this model's responses.</summary>
    public BudgetedGeneratorBuilder WithLengthPredictor(string path) { _lengthPredictor = path; return this; }

    /// <summary>Exit heads for layer skipping (optional).</summary>
    public BudgetedGeneratorBuilder WithExitHeads(string path) { _exitHeads = path; return this; }

    /// <summary>libtorch intra-op threads (default 2); the profile must have been measured with the same count.</summary>
    public BudgetedGeneratorBuilder WithThreads(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(threads);
        _threads = threads;
        return this;
    }

    /// <summary>Whether the estimator follows observed times (default true) or keeps the profile's coefficients.</summary>
    public BudgetedGeneratorBuilder WithRecalibration(bool enabled) { _recalibrate = enabled; return this; }

    /// <summary>
    /// Whether <see cref="Build"/> runs <see cref="BudgetedGenerator.WarmUp"/> (default true), so first-call costs do not
    /// land in the first jobs with a deadline.
    /// </summary>
    public BudgetedGeneratorBuilder WithWarmUp(bool enabled) { _warmUp = enabled; return this; }

    /// <summary>Where measured profiles are cached (default: <see cref="ProfileCache.DefaultRoot"/>).</summary>
    public BudgetedGeneratorBuilder WithProfileCache(string folder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        (_cacheFolder, _cacheProfiles) = (folder, true);
        return this;
    }

    /// <summary>Never read or write the profile cache: without <see cref="WithProfile"/>, every build profiles afresh.</summary>
    public BudgetedGeneratorBuilder WithoutProfileCache() { _cacheProfiles = false; return this; }

    /// <summary>How the engine runs the model (bfloat16 decode weights, prefill chunk size).</summary>
    public BudgetedGeneratorBuilder WithEngineOptions(EngineOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _engine = options;
        return this;
    }

    /// <summary>Hears the short profile's progress when one runs.</summary>
    public BudgetedGeneratorBuilder WithProgress(IProgress<ProfilingProgress> progress) { _progress = progress; return this; }

    /// <summary>Hears warnings (a profile measured under another OS or runtime, a cache folder that cannot be written).</summary>
    public BudgetedGeneratorBuilder WithWarnings(Action<string> warnings) { _warnings = warnings; return this; }

    /// <summary>Loads everything and returns the generator (warmed up unless <see cref="WithWarmUp"/> said no).</summary>
    /// <exception cref="ProfileMismatchException">The given profile was measured for another model, thread count or machine.</exception>
    /// <exception cref="ModelIdentityMismatchException">The length predictor belongs to another model.</exception>
    public BudgetedGenerator Build(CancellationToken cancellationToken = default)
    {
        TorchSharpNativeLoader.EnsureLoaded();
        TorchSharp.torch.set_num_threads(_threads);
        var model = CausalLanguageModel.Load(_modelFolder, _load);
        var owned = new List<IDisposable>();
        GenerationEngine? engine = null;
        BudgetedGenerator generator;
        try
        {
            engine = new GenerationEngine(model, _engine);
            owned.Add(engine);
            owned.Add(model);
            var tokenizer = TextTokenizer.Load(_modelFolder, model.GenerationConfig.BosTokenId);
            var profile = Profile(engine, cancellationToken);
            IExecutionTimeEstimator estimator = _recalibrate ? profile.CreateRecalibratingEstimator() : profile.CreateEstimator();
            var lengths = _lengthPredictor is null ? null : LengthPredictorFile.Load(_lengthPredictor, model);
            if (lengths is IDisposable disposableLengths) owned.Add(disposableLengths);
            var exits = _exitHeads is null ? null : ExitModel.Load(_exitHeads, model);
            if (exits is not null) owned.Add(exits);
            generator = new BudgetedGenerator(engine, tokenizer, estimator, lengths, exits, owned: owned);
        }
        catch
        {
            foreach (var resource in owned) resource.Dispose();
            if (engine is null) model.Dispose();
            throw;
        }
        if (!_warmUp) return generator;
        try { generator.WarmUp(); }
        catch
        {
            generator.Dispose();
            throw;
        }
        return generator;
    }

    /// <summary>The given profile, checked; else the cached one for this machine and model; else a short one, measured now and cached.</summary>
    private ExecutionTimeProfile Profile(GenerationEngine engine, CancellationToken cancellationToken)
    {
        var key = new ProfileKey(ModelProfilingTarget.IdentityOf(engine.Model.Config), engine.WeightFormat, _threads, MachineDescription.Current());
        if (_profile is not null)
        {
            var given = ExecutionTimeProfile.Load(_profile);
            given.EnsureMatches(key, _warnings);
            return given;
        }
        var cache = _cacheProfiles ? new ProfileCache(_cacheFolder) : null;
        if (cache?.TryLoad(key, _warnings) is { } cached) return cached;
        var measured = QuickProfile.Measure(engine, _progress, cancellationToken);
        cache?.TrySave(measured, _warnings);
        return measured;
    }
}
