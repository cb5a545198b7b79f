using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using TimeBill.Core.Cache;
using TimeBill.Core.Eviction;
using TimeBill.Core.Exit;
using TimeBill.Core.Generation;
using TimeBill.Core.Model;
using TimeBill.Core.Planning;
using TimeBill.Core.Sampling;
using TimeBill.Core.Tokenization;

namespace TimeBill.Core.Budget;

/// <summary>
/// TimeBill's generator. Per request: tokenize; run prefill while the response-length predictor guesses N̂ on
/// another thread (a self-probe predictor instead reads the prefill's hidden states and answers right after it); plan α from the time left (<see cref="BudgetPlanner"/>, with layer skipping added past the
/// quality-safe α when an exit policy is on); evict once; decode, checking before every step that the
/// estimator's step time still fits the deadline. Kill stops at the last step that fits; Skip-Next finishes.
/// A plan that even α_max cannot make fit still runs at α_max (the worst case is pessimistic, so such jobs often
/// finish); when it does miss, its status is <see cref="BudgetStatus.Infeasible"/>, as the planner said before decoding.
/// Requests from many threads queue for the one model; the budget runs from each call. Measured prefill and
/// step times feed the estimator when it recalibrates (<see cref="IExecutionTimeObserver"/>).
/// </summary>
public sealed class BudgetedGenerator : IBudgetedGenerator, IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly TimeProvider _time;
    private readonly IDisposable[] _owned;
    private KvCache? _cache;

    /// <summary>Wires a generator from loaded parts (TimeBill.Predictors' <c>BudgetedGeneratorBuilder</c> loads them from files).</summary>
    /// <param name="model">The target model (not owned).</param>
    /// <param name="tokenizer">Its tokenizer.</param>
    /// <param name="estimator">The execution-time estimator fitted for this model on this machine.</param>
    /// <param name="lengthPredictor">The response-length predictor; null budgets for the token cap.</param>
    /// <param name="exits">Trained exit heads; null disables layer skipping.</param>
    /// <param name="time">The clock (tests inject one); the system clock by default.</param>
    /// <param name="owned">Resources disposed with the generator (the builder hands over the model it loaded).</param>
    public BudgetedGenerator(CausalLanguageModel model, TextTokenizer tokenizer, IExecutionTimeEstimator estimator,
        IResponseLengthPredictor? lengthPredictor = null, IExitModel? exits = null, TimeProvider? time = null, IEnumerable<IDisposable>? owned = null)
    {
        _owned = owned?.ToArray() ?? [];
        Model = model ?? throw new ArgumentNullException(nameof(model));
        Tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
        Estimator = estimator ?? throw new ArgumentNullException(nameof(estimator));
        if (lengthPredictor is not null && lengthPredictor.ModelIdentity != model.Identity)
            throw new ArgumentException($"the length predictor was trained for '{lengthPredictor.ModelIdentity}', not '{model.Identity}'.", nameof(lengthPredictor));
        LengthPredictor = lengthPredictor;
        Exits = exits;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>The target model.</summary>
    public CausalLanguageModel Model { get; }
    /// <summary>Its tokenizer.</summary>
    public TextTokenizer Tokenizer { get; }
    /// <summary>The execution-time estimator.</summary>
    public IExecutionTimeEstimator Estimator { get; }
    /// <summary>The response-length predictor, if any.</summary>
    public IResponseLengthPredictor? LengthPredictor { get; }
    /// <summary>The exit heads, if any.</summary>
    public IExitModel? Exits { get; }

    /// <inheritdoc />
    public Task<BudgetedResult> GenerateAsync(BudgetedRequest request, CancellationToken cancellationToken = default)
    {
        long start = _time.GetTimestamp();
        ArgumentNullException.ThrowIfNull(request);
        request.Validate();
        return Task.Run(() => Run(request, start, null, cancellationToken), cancellationToken);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<BudgetedStreamItem> StreamAsync(BudgetedRequest request, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        long start = _time.GetTimestamp();
        ArgumentNullException.ThrowIfNull(request);
        request.Validate();
        var channel = Channel.CreateUnbounded<BudgetedStreamItem>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var producer = Task.Run(() =>
        {
            try
            {
                var result = Run(request, start, token => channel.Writer.TryWrite(new BudgetedStreamItem(token, null)), cancellationToken);
                channel.Writer.TryWrite(new BudgetedStreamItem(default, result));
                channel.Writer.Complete();
            }
            catch (Exception e) { channel.Writer.Complete(e); }
        }, CancellationToken.None);
        await foreach (var item in channel.Reader.ReadAllAsync(CancellationToken.None))
            yield return item;
        await producer;
    }

    /// <summary>Runs a request synchronously on the calling thread; <paramref name="start"/> is when the budget began.</summary>
    internal BudgetedResult Run(BudgetedRequest request, long start, Action<GeneratedToken>? onToken, CancellationToken cancellationToken)
    {
        int[] prompt = request.PromptIds?.ToArray() ?? Tokenizer.EncodePrompt(request.Prompt!);
        int context = Model.Config.MaxPositions;
        if (prompt.Length >= context)
            throw new ArgumentException($"the prompt has {prompt.Length} tokens; the model's context holds {context} (one more is needed to answer).", nameof(request));

        _gate.Wait(cancellationToken);
        try
        {
            using var activity = BudgetTelemetry.Activities.StartActivity("timebill.generate");
            var result = Decode(request, prompt, start, onToken, cancellationToken);
            activity?.SetTag("timebill.status", result.Status.ToString());
            activity?.SetTag("timebill.alpha", result.Plan?.EvictionRatio);
            BudgetTelemetry.Record(result);
            return result;
        }
        finally { _gate.Release(); }
    }

    private double ElapsedMs(long start) => _time.GetElapsedTime(start).TotalMilliseconds;

    private BudgetedResult Decode(BudgetedRequest request, int[] prompt, long start, Action<GeneratedToken>? onToken, CancellationToken cancellationToken)
    {
        var planner = request.Planner;
        double budgetMs = request.Budget.TotalMilliseconds;
        int maxNew = Math.Min(request.MaxNewTokens, Model.Config.MaxPositions - prompt.Length);
        double predictedPrefill = Estimator.PrefillMilliseconds(prompt.Length);
        var result = new BudgetedResult { Status = BudgetStatus.Infeasible, PromptIds = prompt, Budget = request.Budget, PredictedPrefillTime = TimeSpan.FromMilliseconds(predictedPrefill) };

        // Not even the prefill fits: under Kill the job is dropped before any work.
        if (request.Overrun == OverrunStrategy.Kill && ElapsedMs(start) + predictedPrefill > budgetMs)
            return result with { TotalTime = _time.GetElapsedTime(start) };

        // Prefill, with the length predictor running beside it, or reading it (a self-probe).
        int needed = prompt.Length + maxNew;
        var cache = Model.RentCache(ref _cache, needed, Math.Min(Model.Config.MaxPositions, Math.Max(needed, 256)));
        var probing = LengthPredictor as IPrefillProbingLengthPredictor;
        Task<(ResponseLengthPrediction? Prediction, TimeSpan Time)>? predicting = LengthPredictor is null || probing is not null ? null : Task.Run(() =>
        {
            var clock = Stopwatch.StartNew();
            return ((ResponseLengthPrediction?)LengthPredictor.Predict(prompt), clock.Elapsed);
        }, CancellationToken.None);
        bool mayEvict = planner.Eviction is not NoEvictionPolicy;
        using var capture = mayEvict ? planner.Eviction.CreateCapture(Model.Config) : null;
        var probe = probing?.CreateProbe();
        long prefillStart = _time.GetTimestamp();
        float[] logits;
        using (BudgetTelemetry.Activities.StartActivity("timebill.prefill"))
            logits = Model.ForwardLast(prompt, cache, ForwardObservers.Combine(capture, probe));
        var prefillTime = _time.GetElapsedTime(prefillStart);
        var firstToken = _time.GetElapsedTime(start);
        (Estimator as IExecutionTimeObserver)?.ObservePrefill(prompt.Length, prefillTime.TotalMilliseconds);
        var (prediction, predictorTime) = predicting?.GetAwaiter().GetResult() ?? (null, TimeSpan.Zero);
        if (probing is not null)
        {
            long probeStart = _time.GetTimestamp();
            prediction = probing.PredictFromProbe(probe!, prompt.Length);
            predictorTime = _time.GetElapsedTime(probeStart);
        }
        cancellationToken.ThrowIfCancellationRequested();

        // Plan α (and layer skipping) from what is left.
        long planStart = _time.GetTimestamp();
        BudgetPlan plan;
        using (BudgetTelemetry.Activities.StartActivity("timebill.plan"))
            plan = PlanFor(planner, prompt.Length, prediction?.Length ?? maxNew, maxNew, budgetMs - ElapsedMs(start));
        var plannerTime = _time.GetElapsedTime(planStart);
        result = result with
        {
            Plan = plan,
            PrefillTime = prefillTime,
            TimeToFirstToken = firstToken,
            PredictorTime = predictorTime,
            PlannerTime = plannerTime,
            PredictedDecodeTime = TimeSpan.FromMilliseconds(plan.PredictedDecodeMilliseconds),
        };
        var eviction = TimeSpan.Zero;
        if (plan.EvictionRatio > 0 && mayEvict) eviction = planner.Eviction.Evict(cache, plan.EvictionRatio, capture).Elapsed;

        // Decode with the deadline watched before every step.
        bool skipLayers = plan.LayersPerToken is not null && Exits is not null;
        var decoder = new ExitingDecoder(Model, skipLayers ? Exits : null, skipLayers ? planner.Exit : ExitPolicy.Off);
        var stops = request.StopTokenIds ?? Model.GenerationConfig.StopTokenIds;
        var sampler = new TokenSampler(request.Sampling);
        var text = Tokenizer.CreateStreamingDecoder();
        var generated = new List<int>();
        long decodeStart = _time.GetTimestamp();
        StopReason? reason = null;
        using (BudgetTelemetry.Activities.StartActivity("timebill.decode"))
        {
            int next = sampler.Sample(logits);
            while (true)
            {
                if (stops.Contains(next)) { reason = Generation.StopReason.StopToken; break; }
                generated.Add(next);
                onToken?.Invoke(new GeneratedToken(next, text.Push(next), generated.Count - 1));
                if (generated.Count >= maxNew) { reason = Generation.StopReason.MaxTokens; break; }
                cancellationToken.ThrowIfCancellationRequested();

                int kv = cache.Length(Model.Config.LayerCount - 1);
                if (request.Overrun == OverrunStrategy.Kill
                    && ElapsedMs(start) + Estimator.DecodeStepMilliseconds(kv, plan.LayersPerToken) > budgetMs)
                    break; // the next step would end past the deadline
                long stepStart = _time.GetTimestamp();
                var step = decoder.Step(next, cache);
                (Estimator as IExecutionTimeObserver)?.ObserveDecodeStep(kv, skipLayers ? step.LayersRun : null, _time.GetElapsedTime(stepStart).TotalMilliseconds);
                next = sampler.Sample(step.Logits);
            }
        }
        string tail = text.Flush();
        if (tail.Length > 0) onToken?.Invoke(new GeneratedToken(-1, tail, generated.Count));

        var total = _time.GetElapsedTime(start);
        bool ended = reason is not null;
        return result with
        {
            Status = ended && total <= request.Budget ? BudgetStatus.Completed
                : plan.Feasible ? BudgetStatus.DeadlineExceeded : BudgetStatus.Infeasible,
            Ids = generated,
            Text = Tokenizer.Decode(generated),
            StopReason = reason,
            EvictionTime = eviction,
            LayersPerToken = decoder.Tokens == 0 ? Model.Config.LayerCount : decoder.AverageLayersPerToken,
            DecodeTime = _time.GetElapsedTime(decodeStart),
            TotalTime = total,
        };
    }

    /// <summary>
    /// Evict alone up to the quality-safe α; beyond it, when an exit policy and heads exist, price the step at the
    /// policy's expected depth and re-solve α with that cheaper step.
    /// </summary>
    private BudgetPlan PlanFor(PlannerOptions planner, int promptLength, double predictedLength, int maxNew, double remainingMs)
    {
        var coefficients = Estimator.Coefficients;
        if (planner.FixedEvictionRatio is double fixedRatio)
        {
            var adaptive = BudgetPlanner.Plan(coefficients.Step, promptLength, predictedLength, maxNew, remainingMs, planner.Pessimism, planner.MaxEvictionRatio);
            var worst = adaptive.WorstCaseLength;
            double decode = coefficients.Step.StepsMilliseconds((1 - fixedRatio) * promptLength, worst - 1);
            return adaptive with { EvictionRatio = fixedRatio, Feasible = decode <= remainingMs, PredictedDecodeMilliseconds = decode };
        }
        var plan = BudgetPlanner.Plan(coefficients.Step, promptLength, predictedLength, maxNew, remainingMs, planner.Pessimism, planner.MaxEvictionRatio);
        if (planner.Exit.IsOff || Exits is null || plan.EvictionRatio <= planner.QualitySafeEvictionRatio) return plan;
        double layers = Exits.Calibration.ExpectedLayersPerToken(planner.Exit);
        return BudgetPlanner.Plan(coefficients.StepFor(layers), promptLength, predictedLength, maxNew, remainingMs, planner.Pessimism, planner.MaxEvictionRatio, layers);
    }

    /// <summary>Frees the cache and whatever the generator was handed to own.</summary>
    public void Dispose()
    {
        _cache?.Dispose();
        _gate.Dispose();
        foreach (var resource in _owned) resource.Dispose();
    }
}
