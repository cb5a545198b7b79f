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
/// another thread (a self-probe predictor instead reads the prefill's hidden states and answers right after it); plan α
/// from the time left (<see cref="BudgetPlanner"/>, with layer skipping added past the quality-safe α when an exit
/// policy is on, and the eviction's own measured cost taken from the time left); evict once; decode. Under Kill every
/// piece of work after prefill must fit before the deadline together with finishing the result: waiting for the length
/// prediction, the self-probe and the eviction are skipped when they no longer fit, and before every step the estimator's step time must still fit,
/// so Kill stops at the last step that fits. Skip-Next finishes. A plan that even α_max cannot make fit still runs at
/// α_max (the worst case is pessimistic, so such jobs often finish); when it does miss, its status is
/// <see cref="BudgetStatus.Infeasible"/>, as the planner said before decoding. Call <see cref="WarmUp"/> once before
/// the first job with a deadline. Requests from many threads queue for the one model; the budget runs from each call.
/// Measured prefill and step times feed the estimator when it recalibrates (<see cref="IExecutionTimeObserver"/>).
/// </summary>
public sealed class BudgetedGenerator : IBudgetedGenerator, IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly TimeProvider _time;
    private readonly IDisposable[] _owned;
    private KvCache? _cache;
    private readonly PhaseCost _probe = new(), _finish = new();
    // How far steps (from one deadline check to the next) ran past their estimates, over the last ~100 steps.
    private readonly StepOverrun _stepOverrun = new();
    private readonly Dictionary<string, PhaseCost> _evictions = []; // per eviction policy
    private Task? _pendingPrediction;

    /// <summary>Wires a generator from loaded parts (TimeBill.Predictors' <c>BudgetedGeneratorBuilder</c> loads them from files).</summary>
    /// <param name="model">The target model (not owned).</param>
    /// <param name="tokenizer">Its tokenizer; null for a generator that takes prompts as ids and returns ids only (no text), as timing
    /// work on a random-weight model shape does.</param>
    /// <param name="estimator">The execution-time estimator fitted for this model on this machine.</param>
    /// <param name="lengthPredictor">The response-length predictor; null budgets for the token cap.</param>
    /// <param name="exits">Trained exit heads; null disables layer skipping.</param>
    /// <param name="time">The clock (tests inject one); the system clock by default.</param>
    /// <param name="owned">Resources disposed with the generator (the builder hands over the model it loaded).</param>
    public BudgetedGenerator(CausalLanguageModel model, TextTokenizer? tokenizer, IExecutionTimeEstimator estimator,
        IResponseLengthPredictor? lengthPredictor = null, IExitModel? exits = null, TimeProvider? time = null, IEnumerable<IDisposable>? owned = null)
    {
        _owned = owned?.ToArray() ?? [];
        Model = model ?? throw new ArgumentNullException(nameof(model));
        Tokenizer = tokenizer;
        Estimator = estimator ?? throw new ArgumentNullException(nameof(estimator));
        if (lengthPredictor is not null && lengthPredictor.ModelIdentity != model.Identity)
            throw new ArgumentException($"the length predictor was trained for '{lengthPredictor.ModelIdentity}', not '{model.Identity}'.", nameof(lengthPredictor));
        LengthPredictor = lengthPredictor;
        Exits = exits;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>The target model.</summary>
    public CausalLanguageModel Model { get; }
    /// <summary>Its tokenizer; null when the generator works on ids only.</summary>
    public TextTokenizer? Tokenizer { get; }
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
        int[] prompt = request.PromptIds?.ToArray() ?? Tokenizer?.EncodePrompt(request.Prompt!)
            ?? throw new ArgumentException("this generator has no tokenizer: give the prompt as PromptIds.", nameof(request));
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

    /// <summary>
    /// Runs a short request through the whole path off the clock (prefill with the eviction policy's capture and the
    /// length predictor, eviction, a few full-depth decode steps, detokenization) so that first-call costs (JIT
    /// compilation, allocator pools, the decode path's choice) do not land in a job with a deadline; then runs it once
    /// more to measure the phases the execution-time estimator does not model (eviction, the self-probe, finishing the
    /// result), which the deadline checks and the planner use. Feeds nothing to the estimator and records no
    /// telemetry. Call it once after building the generator, before the first budgeted job.
    /// </summary>
    /// <param name="planner">The planner options whose eviction policy to warm (default: <see cref="PlannerOptions"/>' defaults).</param>
    /// <param name="cancellationToken">Cancels the warm-up.</param>
    public void WarmUp(PlannerOptions? planner = null, CancellationToken cancellationToken = default)
    {
        planner ??= new PlannerOptions();
        int bos = Model.GenerationConfig.BosTokenId ?? 1;
        int length = Math.Clamp(Model.Config.MaxPositions / 8, 2, 64);
        int[] prompt = [bos, .. Enumerable.Range(0, length - 1).Select(i => 3 + i % Math.Max(1, Model.Config.VocabSize - 3))];
        var request = new BudgetedRequest
        {
            PromptIds = prompt,
            Budget = TimeSpan.FromHours(1),
            Overrun = OverrunStrategy.SkipNext,
            MaxNewTokens = 8,
            StopTokenIds = [],
            Planner = planner with { FixedEvictionRatio = planner.Eviction is NoEvictionPolicy ? 0 : 0.5 },
        };
        _gate.Wait(cancellationToken);
        try
        {
            Decode(request, prompt, _time.GetTimestamp(), null, cancellationToken, observeEstimator: false, observePhases: false);
            Decode(request, prompt, _time.GetTimestamp(), null, cancellationToken, observeEstimator: false, observePhases: true);
        }
        finally { _gate.Release(); }
    }

    private PhaseCost EvictionCost(EvictionPolicy policy)
    {
        if (!_evictions.TryGetValue(policy.Name, out var cost)) _evictions[policy.Name] = cost = new PhaseCost();
        return cost;
    }

    private double ElapsedMs(long start) => _time.GetElapsedTime(start).TotalMilliseconds;

    /// <summary>
    /// One job. Under Kill every piece of work after prefill is checked against the deadline before it starts, with
    /// the time it is expected to take plus what finishing the result costs: the self-probe and eviction with their
    /// measured costs (<see cref="PhaseCost.Upper"/>), every decode step with the estimator's step time, raised by how far
    /// recent steps ran past their estimates (<see cref="StepOverrun"/>). A piece that
    /// does not fit is not started: no probe (N̂ = the cap), no eviction (the cache stays whole), no step (the job
    /// ends). The total is read when the result is complete, so it is the time the caller gets it.
    /// </summary>
    private BudgetedResult Decode(BudgetedRequest request, int[] prompt, long start, Action<GeneratedToken>? onToken, CancellationToken cancellationToken, bool observeEstimator = true, bool observePhases = true)
    {
        var planner = request.Planner;
        bool kill = request.Overrun == OverrunStrategy.Kill;
        double budgetMs = request.Budget.TotalMilliseconds;
        int maxNew = Math.Min(request.MaxNewTokens, Model.Config.MaxPositions - prompt.Length);
        double predictedPrefill = Estimator.PrefillMilliseconds(prompt.Length);
        var result = new BudgetedResult { Status = BudgetStatus.Infeasible, PromptIds = prompt, Budget = request.Budget, PredictedPrefillTime = TimeSpan.FromMilliseconds(predictedPrefill) };
        var observer = observeEstimator ? Estimator as IExecutionTimeObserver : null;
        // Whether work expected to take `milliseconds`, then finishing a result of `tokens` tokens, ends by the deadline.
        bool Fits(double milliseconds, int tokens) => !kill || ElapsedMs(start) + milliseconds + _finish.Upper(tokens) <= budgetMs;

        // Not even the prefill fits: under Kill the job is dropped before any work.
        if (kill && ElapsedMs(start) + predictedPrefill > budgetMs)
            return result with { TotalTime = _time.GetElapsedTime(start) };

        // Prefill, with the length predictor running beside it, or reading it (a self-probe).
        int needed = prompt.Length + maxNew;
        var cache = Model.RentCache(ref _cache, needed, Math.Min(Model.Config.MaxPositions, Math.Max(needed, 256)));
        var probing = LengthPredictor as IPrefillProbingLengthPredictor;
        var predicting = LengthPredictor is null || probing is not null ? null : new ConcurrentLengthPrediction(LengthPredictor, prompt, _pendingPrediction);
        _pendingPrediction = predicting?.Task; // until taken: whatever happens to this job, the next prediction waits for it
        bool mayEvict = planner.Eviction is not NoEvictionPolicy;
        using var capture = mayEvict ? planner.Eviction.CreateCapture(Model.Config) : null;
        var probe = probing?.CreateProbe();
        long prefillStart = _time.GetTimestamp();
        float[] logits;
        using (BudgetTelemetry.Activities.StartActivity("timebill.prefill"))
            logits = Model.ForwardLast(prompt, cache, ForwardObservers.Combine(capture, probe));
        var prefillTime = _time.GetElapsedTime(prefillStart);
        var firstToken = _time.GetElapsedTime(start);
        observer?.ObservePrefill(prompt.Length, prefillTime.TotalMilliseconds);
        // The length prediction, unless waiting for it (or running the self-probe's head) would leave no step before the deadline.
        ResponseLengthPrediction? prediction = null;
        var predictorTime = TimeSpan.Zero;
        bool predictionSkipped = false;
        double fullStep = Estimator.DecodeStepMilliseconds(prompt.Length);
        if (predicting is not null)
        {
            predictionSkipped = !predicting.TryTake(() => Fits(fullStep, 1), out prediction, out predictorTime);
            if (!predictionSkipped) _pendingPrediction = null;
        }
        else if (probing is not null)
        {
            predictionSkipped = !Fits(_probe.Upper(1) + fullStep, 1);
            if (!predictionSkipped)
            {
                long probeStart = _time.GetTimestamp();
                prediction = probing.PredictFromProbe(probe!, prompt.Length);
                predictorTime = _time.GetElapsedTime(probeStart);
                if (observePhases) _probe.Observe(1, predictorTime.TotalMilliseconds);
            }
        }
        cancellationToken.ThrowIfCancellationRequested();

        // Plan α (and layer skipping) from what is left once the result is finished (and, when it evicts, evicted).
        long planStart = _time.GetTimestamp();
        BudgetPlan plan;
        using (BudgetTelemetry.Activities.StartActivity("timebill.plan"))
        {
            // The planner prices steps with the estimator; when steps have been running past it, the time left is
            // shrunk by the same factor (equivalently, every step is priced that much higher).
            double stretch = _stepOverrun.MeanFactor;
            plan = PlanFor(planner, prompt.Length, prediction?.Length ?? maxNew, maxNew, (budgetMs - ElapsedMs(start) - _finish.Mean(maxNew)) / stretch,
                (mayEvict ? EvictionCost(planner.Eviction).Mean(prompt.Length) : 0) / stretch);
        }
        var plannerTime = _time.GetElapsedTime(planStart);
        result = result with
        {
            Plan = plan,
            PrefillTime = prefillTime,
            TimeToFirstToken = firstToken,
            PredictorTime = predictorTime,
            PlannerTime = plannerTime,
            PredictedDecodeTime = TimeSpan.FromMilliseconds(plan.PredictedDecodeMilliseconds),
            LengthPredictionSkipped = predictionSkipped,
        };

        // Evict once, if the eviction and then one step still fit; otherwise decode with the whole cache.
        var eviction = TimeSpan.Zero;
        bool evictionSkipped = false;
        if (plan.EvictionRatio > 0 && mayEvict)
        {
            double evictedStep = Estimator.DecodeStepMilliseconds((1 - plan.EvictionRatio) * prompt.Length, plan.LayersPerToken);
            if (Fits(EvictionCost(planner.Eviction).Upper(prompt.Length) + evictedStep, 1))
            {
                long evictionStart = _time.GetTimestamp();
                planner.Eviction.Evict(cache, plan.EvictionRatio, capture);
                eviction = _time.GetElapsedTime(evictionStart);
                if (observePhases) EvictionCost(planner.Eviction).Observe(prompt.Length, eviction.TotalMilliseconds);
            }
            else evictionSkipped = true;
        }

        // Decode with the deadline watched before every step.
        bool skipLayers = plan.LayersPerToken is not null && Exits is not null;
        var decoder = new ExitingDecoder(Model, skipLayers ? Exits : null, skipLayers ? planner.Exit : ExitPolicy.Off);
        var stops = request.StopTokenIds ?? Model.GenerationConfig.StopTokenIds;
        var sampler = new TokenSampler(request.Sampling);
        var text = Tokenizer?.CreateStreamingDecoder();
        var generated = new List<int>();
        long decodeStart = _time.GetTimestamp();
        StopReason? reason = null;
        long? previousStepStart = null;
        double previousEstimate = 0;
        using (BudgetTelemetry.Activities.StartActivity("timebill.decode"))
        {
            int next = sampler.Sample(logits);
            while (true)
            {
                if (stops.Contains(next)) { reason = Generation.StopReason.StopToken; break; }
                generated.Add(next);
                onToken?.Invoke(new GeneratedToken(next, text?.Push(next) ?? "", generated.Count - 1));
                if (generated.Count >= maxNew) { reason = Generation.StopReason.MaxTokens; break; }
                cancellationToken.ThrowIfCancellationRequested();

                int kv = cache.Length(Model.Config.LayerCount - 1);
                // What the previous step cost from this check to the next (the step, sampling, the caller's
                // token callback) against its estimate: the misses the next checks charge for.
                if (observePhases && previousStepStart is { } previous) _stepOverrun.Observe(previousEstimate, ElapsedMs(previous));
                double predictedStep = Estimator.DecodeStepMilliseconds(kv, plan.LayersPerToken);
                if (!Fits(_stepOverrun.Charge(predictedStep), generated.Count + 1))
                    break; // the next step would end past the deadline
                long stepStart = _time.GetTimestamp();
                (previousStepStart, previousEstimate) = (stepStart, predictedStep);
                var step = decoder.Step(next, cache);
                observer?.ObserveDecodeStep(kv, skipLayers ? step.LayersRun : null, _time.GetElapsedTime(stepStart).TotalMilliseconds);
                next = sampler.Sample(step.Logits);
            }
        }
        var decodeTime = _time.GetElapsedTime(decodeStart);

        // Finish: the rest of the text, then the result; the total is read when it is complete.
        long finishStart = _time.GetTimestamp();
        string tail = text?.Flush() ?? "";
        if (tail.Length > 0) onToken?.Invoke(new GeneratedToken(-1, tail, generated.Count));
        result = result with
        {
            Ids = generated,
            Text = Tokenizer?.Decode(generated) ?? "",
            StopReason = reason,
            EvictionTime = eviction,
            EvictionSkipped = evictionSkipped,
            LayersPerToken = decoder.Tokens == 0 ? Model.Config.LayerCount : decoder.AverageLayersPerToken,
            DecodeTime = decodeTime,
        };
        var total = _time.GetElapsedTime(start);
        if (observePhases) _finish.Observe(generated.Count, _time.GetElapsedTime(finishStart).TotalMilliseconds);
        return result with
        {
            Status = reason is not null && total <= request.Budget ? BudgetStatus.Completed
                : plan.Feasible ? BudgetStatus.DeadlineExceeded : BudgetStatus.Infeasible,
            TotalTime = total,
        };
    }

    /// <summary>
    /// Evict alone up to the quality-safe α; beyond it, when an exit policy and heads exist, price the step at the
    /// policy's expected depth and re-solve α with that cheaper step. A plan that evicts is solved again with the
    /// eviction's expected cost (<paramref name="evictionMs"/>) taken from the time left.
    /// </summary>
    private BudgetPlan PlanFor(PlannerOptions planner, int promptLength, double predictedLength, int maxNew, double remainingMs, double evictionMs)
    {
        var coefficients = Estimator.Coefficients;
        if (planner.FixedEvictionRatio is double fixedRatio)
        {
            double left = fixedRatio > 0 ? remainingMs - evictionMs : remainingMs;
            var adaptive = BudgetPlanner.Plan(coefficients.Step, promptLength, predictedLength, maxNew, left, planner.Pessimism, planner.MaxEvictionRatio);
            var worst = adaptive.WorstCaseLength;
            double decode = coefficients.Step.StepsMilliseconds((1 - fixedRatio) * promptLength, worst - 1);
            return adaptive with { EvictionRatio = fixedRatio, Feasible = decode <= left, PredictedDecodeMilliseconds = decode };
        }
        var plan = PlanWithin(planner, coefficients.Step, promptLength, predictedLength, maxNew, remainingMs, evictionMs, null);
        if (planner.Exit.IsOff || Exits is null || plan.EvictionRatio <= planner.QualitySafeEvictionRatio) return plan;
        double layers = Exits.Calibration.ExpectedLayersPerToken(planner.Exit);
        return PlanWithin(planner, coefficients.StepFor(layers), promptLength, predictedLength, maxNew, remainingMs, evictionMs, layers);
    }

    private static BudgetPlan PlanWithin(PlannerOptions planner, DecodeStepCost step, int promptLength, double predictedLength, int maxNew,
        double remainingMs, double evictionMs, double? layers)
    {
        var plan = BudgetPlanner.Plan(step, promptLength, predictedLength, maxNew, remainingMs, planner.Pessimism, planner.MaxEvictionRatio, layers);
        return plan.EvictionRatio > 0 && evictionMs > 0
            ? BudgetPlanner.Plan(step, promptLength, predictedLength, maxNew, remainingMs - evictionMs, planner.Pessimism, planner.MaxEvictionRatio, layers)
            : plan;
    }

    /// <summary>Frees the cache and whatever the generator was handed to own.</summary>
    public void Dispose()
    {
        // A prediction a job went on without may still be running on the predictor this generator may own.
        if (_pendingPrediction is { } pending) ((IAsyncResult)pending).AsyncWaitHandle.WaitOne();
        _cache?.Dispose();
        _gate.Dispose();
        foreach (var resource in _owned) resource.Dispose();
    }
}
