using TimeBill.Core.Budget;
using TimeBill.Core.Model;
using TimeBill.Core.Native;
using TimeBill.Core.Planning;
using TimeBill.Core.Tokenization;
using TimeBill.Predictors.ExecutionTime;
using TimeBill.Predictors.Exit;
using TimeBill.Predictors.ResponseLength;

namespace TimeBill.Predictors.Budget;

/// <summary>
/// Wires a <see cref="BudgetedGenerator"/> from files in a few lines:
/// <code>
/// using var generator = new BudgetedGeneratorBuilder("models/stories260K")
///     .WithProfile("stories260K.profile.json")      // timebill profile --out
///     .WithLengthPredictor("stories260K.rlp")       // timebill train-rlp
///     .WithExitHeads("stories260K.exit.json")       // timebill train-exit (optional)
///     .Build();
/// </code>
/// Every file is checked against the model it is used with (identity, and for the profile also data type,
/// threads and machine). The generator owns the model and heads it loaded and frees them on dispose.
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

    /// <summary>Starts from a Hugging Face model folder.</summary>
    public BudgetedGeneratorBuilder(string modelFolder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelFolder);
        _modelFolder = modelFolder;
    }

    /// <summary>The execution-time profile measured for this model, thread count and machine (required).</summary>
    public BudgetedGeneratorBuilder WithProfile(string path) { _profile = path; return this; }

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

    /// <summary>Loads everything and returns the generator (warmed up unless <see cref="WithWarmUp"/> said no).</summary>
    /// <exception cref="InvalidOperationException">No profile was given.</exception>
    /// <exception cref="ProfileMismatchException">The profile was measured for another model, thread count or machine.</exception>
    /// <exception cref="ModelIdentityMismatchException">The length predictor belongs to another model.</exception>
    public BudgetedGenerator Build()
    {
        if (_profile is null) throw new InvalidOperationException("a budgeted generator needs an execution-time profile: call WithProfile (made by `timebill profile`).");
        TorchSharpNativeLoader.EnsureLoaded();
        TorchSharp.torch.set_num_threads(_threads);
        var model = CausalLanguageModel.Load(_modelFolder);
        var owned = new List<IDisposable> { model };
        BudgetedGenerator generator;
        try
        {
            var tokenizer = TextTokenizer.Load(_modelFolder, model.GenerationConfig.BosTokenId);
            var profile = ExecutionTimeProfile.Load(_profile);
            profile.EnsureMatches(ModelProfilingTarget.IdentityOf(model.Config), "float32", _threads);
            IExecutionTimeEstimator estimator = _recalibrate ? profile.CreateRecalibratingEstimator() : profile.CreateEstimator();
            var lengths = _lengthPredictor is null ? null : LengthPredictorFile.Load(_lengthPredictor, model);
            if (lengths is IDisposable disposableLengths) owned.Add(disposableLengths);
            var exits = _exitHeads is null ? null : ExitModel.Load(_exitHeads, model);
            if (exits is not null) owned.Add(exits);
            generator = new BudgetedGenerator(model, tokenizer, estimator, lengths, exits, owned: owned);
        }
        catch
        {
            foreach (var resource in owned) resource.Dispose();
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
}
