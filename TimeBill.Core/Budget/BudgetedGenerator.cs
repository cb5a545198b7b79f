using System.Diagnostics;
using System.Runtime.CompilerServices;
using TimeBill.Core.Cache;
using TimeBill.Core.Constraints;
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
/// so Kill stops at the last step that fits; a request with a <see cref="BudgetedRequest.Constraint"/> also keeps the steps
/// its answer needs to complete, and closes it on a shortest path when only those fit. Skip-Next finishes. A plan that even α_max cannot make fit still runs at
/// α_max (the worst case is pessimistic, so such jobs often finish); when it does miss, its status is
/// <see cref="BudgetStatus.Infeasible"/>, as the planner said before decoding. Call <see cref="WarmUp"/> once before
/// the first job with a deadline. Requests from many threads queue for the one model; the budget runs from each call.
/// Measured prefill and step times feed the estimator when it recalibrates (<see cref="IExecutionTimeObserver"/>).
/// </summary>
public sealed class BudgetedGenerator : IBudgetedGenerator, IDisposable
{
    private readonly TimeProvider _time;
    private readonly IDisposable[] _owned;
    private readonly bool _ownsEngine;
    private readonly PhaseCost _probe = new(), _finish = new();
    // How far steps (from one deadline check to the next) and prefills ran past their estimates, over the last 256 of each.
    private readonly EstimateOverrun _stepOverrun = new(), _prefillOverrun = new();
    // How long finished results took to reach their callers (the worker's completion to the awaiting thread), over the
    // last 256 calls: on a loaded machine the thread that resumes the caller waits for a core too.
    private readonly RecentValues _handoffs = new();
    private readonly Lock _handoffGate = new();
    private double _handoffReserveMs; // the 99th percentile of _handoffs, read by the worker without the lock
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
        : this(new GenerationEngine(model ?? throw new ArgumentNullException(nameof(model))), tokenizer, estimator, lengthPredictor, exits, time, owned, ownsEngine: true)
    {
    }

    /// <summary>As the other constructor, on an engine shared with other generators (not owned; the resources in <paramref name="owned"/> are).</summary>
    public BudgetedGenerator(GenerationEngine engine, TextTokenizer? tokenizer, IExecutionTimeEstimator estimator,
        IResponseLengthPredictor? lengthPredictor = null, IExitModel? exits = null, TimeProvider? time = null, IEnumerable<IDisposable>? owned = null)
        : this(engine, tokenizer, estimator, lengthPredictor, exits, time, owned, ownsEngine: false)
    {
    }

    private BudgetedGenerator(GenerationEngine engine, TextTokenizer? tokenizer, IExecutionTimeEstimator estimator,
        IResponseLengthPredictor? lengthPredictor, IExitModel? exits, TimeProvider? time, IEnumerable<IDisposable>? owned, bool ownsEngine)
    {
        _owned = owned?.ToArray() ?? [];
        Engine = engine ?? throw new ArgumentNullException(nameof(engine));
        _ownsEngine = ownsEngine;
        var model = Model = engine.Model;
        Tokenizer = tokenizer;
        Estimator = estimator ?? throw new ArgumentNullException(nameof(estimator));
        if (lengthPredictor is not null && !model.IsIdentifiedBy(lengthPredictor.ModelIdentity))
            throw new ArgumentException($"the length predictor was trained for '{lengthPredictor.ModelIdentity}', not '{model.Identity}'.", nameof(lengthPredictor));
        LengthPredictor = lengthPredictor;
        Exits = exits;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>The engine the jobs run on.</summary>
    public GenerationEngine Engine { get; }
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
        int[] prompt = PromptOf(request);
        return Handed(Engine.Submit(() => Run(request, prompt, start, null, cancellationToken), cancellationToken), start, observe: true);
    }

    // The result once the caller's thread has it, with the hand-off's time learned for the deadline checks.
    private async Task<BudgetedResult> Handed(Task<BudgetedResult> running, long start, bool observe)
    {
        var result = await running.ConfigureAwait(false);
        double handoffMs = HandoffMilliseconds(start, result); // read first: nothing after the await may add to it
        if (observe) ObserveHandoff(handoffMs);
        return result;
    }

    private double HandoffMilliseconds(long start, BudgetedResult result) => (_time.GetElapsedTime(start) - result.TotalTime).TotalMilliseconds;

    /// <summary>Folds in one result that reached its caller <paramref name="milliseconds"/> after it was complete.</summary>
    internal void ObserveHandoff(double milliseconds)
    {
        if (!(milliseconds >= 0) || double.IsInfinity(milliseconds)) return;
        lock (_handoffGate)
        {
            _handoffs.Add(milliseconds);
            Volatile.Write(ref _handoffReserveMs, _handoffs.P99);
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<BudgetedStreamItem> StreamAsync(BudgetedRequest request, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        long start = _time.GetTimestamp();
        int[] prompt = PromptOf(request);
        var items = Engine.Stream<BudgetedStreamItem>((writer, stop) =>
        {
            var result = Run(request, prompt, start, token => writer.TryWrite(new BudgetedStreamItem(token, null)), stop);
            writer.TryWrite(new BudgetedStreamItem(default, result));
        }, cancellationToken);
        await foreach (var item in items.ConfigureAwait(false))
        {
            if (item.Result is { } result) ObserveHandoff(HandoffMilliseconds(start, result));
            yield return item;
        }
    }

    /// <summary>Runs a request and waits for it; <paramref name="start"/> is when the budget began.</summary>
    internal BudgetedResult Run(BudgetedRequest request, long start, Action<GeneratedToken>? onToken, CancellationToken cancellationToken)
    {
        int[] prompt = PromptOf(request);
        return Engine.Submit(() => Run(request, prompt, start, onToken, cancellationToken), cancellationToken).GetAwaiter().GetResult();
    }

    private int[] PromptOf(BudgetedRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.Validate();
        int[] prompt = request.PromptIds?.ToArray() ?? Tokenizer?.EncodePrompt(request.Prompt!)
            ?? throw new ArgumentException("this generator has no tokenizer: give the prompt as PromptIds.", nameof(request));
        Engine.CheckPromptIds(prompt, nameof(request));
        Engine.CheckSampling(request.Sampling, nameof(request));
        if (request.Constraint is not null && Tokenizer is null)
            throw new ArgumentException("a constrained request needs a generator with a tokenizer (the constraint is over its tokens).", nameof(request));
        if (request.Constraint is not null && request.StopTokenIds is { Count: 0 })
            throw new ArgumentException("a constrained request needs a stop token id: a complete answer must be able to end.", nameof(request));
        request.Constraint?.For(Tokenizer!); // lifted to the vocabulary once, here on the caller's thread rather than the engine's
        return prompt;
    }

    /// <summary>One job on the worker thread, with its telemetry.</summary>
    private BudgetedResult Run(BudgetedRequest request, int[] prompt, long start, Action<GeneratedToken>? onToken, CancellationToken cancellationToken)
    {
        using var activity = BudgetTelemetry.Activities.StartActivity("timebill.generate");
        var result = Decode(request, prompt, start, onToken, cancellationToken);
        activity?.SetTag("timebill.status", result.Status.ToString());
        activity?.SetTag("timebill.alpha", result.Plan?.EvictionRatio);
        BudgetTelemetry.Record(result);
        return result;
    }

    /// <summary>
    /// Prefills <paramref name="prefix"/> (BOS first when the model has one) once and pins it in the engine's prefix
    /// cache until the result is disposed: a control loop's system prompt, after which each job's prompt
    /// <c>pinned.Then(tokenizer.Encode(observation))</c> prefills only the observation and is planned with the time that saves.
    /// </summary>
    /// <exception cref="InvalidOperationException">No tokenizer, or the engine's prefix cache is off.</exception>
    public Task<PinnedPrefix> PinPrefixAsync(string prefix, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var tokenizer = Tokenizer ?? throw new InvalidOperationException("this generator has no tokenizer: pin the prefix as ids through Engine.PinPrefixAsync.");
        return Engine.PinPrefixAsync(tokenizer.EncodePrompt(prefix), cancellationToken);
    }

    /// <summary>
    /// Runs a short request through the whole path off the clock (prefill with the eviction policy's capture and the
    /// length predictor, eviction, a few full-depth decode steps, detokenization) so that first-call costs (JIT
    /// compilation, allocator pools, the decode path's choice) do not land in a job with a deadline; then runs it once
    /// more to measure the phases the execution-time estimator does not model (eviction, the self-probe, finishing the
    /// result, handing it to the caller), which the deadline checks and the planner use. Feeds nothing to the estimator and records no
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
        // Each through the hand-off to the caller, so its first run (a thread-pool thread started, code compiled) is
        // not what the first budgeted job's hand-off reserve learns from; the second, warm one is.
        long first = _time.GetTimestamp();
        Handed(Engine.Submit(() => Decode(request, prompt, first, null, cancellationToken, observeEstimator: false, observePhases: false), cancellationToken),
            first, observe: false).GetAwaiter().GetResult();
        long second = _time.GetTimestamp();
        Handed(Engine.Submit(() => Decode(request, prompt, second, null, cancellationToken, observeEstimator: false, observePhases: true), cancellationToken),
            second, observe: true).GetAwaiter().GetResult();
    }

    private PhaseCost EvictionCost(EvictionPolicy policy)
    {
        if (!_evictions.TryGetValue(policy.Name, out var cost)) _evictions[policy.Name] = cost = new PhaseCost();
        return cost;
    }

    private double ElapsedMs(long start) => _time.GetElapsedTime(start).TotalMilliseconds;

    /// <summary>
    /// One job. Under Kill every piece of work is checked against the deadline before it starts, with the time it is
    /// expected to take plus what finishing the result and handing it to the caller cost (the 99th percentile of recent
    /// hand-offs): the prefill at the estimator's time raised by the 99th percentile of recent prefills' misses, each
    /// further chunk raised by that or by how far the chunks so far ran past it, the self-probe and eviction with their measured costs
    /// (<see cref="PhaseCost.Upper"/>), every decode step with the estimator's step time, raised by how far recent
    /// steps ran past their estimates (<see cref="EstimateOverrun"/>). A piece that does not fit is not started: no more
    /// prefill (the job ends with nothing), no probe (N̂ = the cap), no eviction (the cache stays whole), no step (the
    /// job ends). The total is read when the result is complete, so it is the time the caller gets it.
    /// </summary>
    private BudgetedResult Decode(BudgetedRequest request, int[] prompt, long start, Action<GeneratedToken>? onToken, CancellationToken cancellationToken,
        bool observeEstimator = true, bool observePhases = true)
    {
        var constraint = request.Constraint is { } c
            ? new ConstrainedDecoding(c.For(Tokenizer!), request.StopTokenIds ?? Engine.DefaultStopTokenIds(Tokenizer), Math.Min(request.MaxNewTokens, Model.Config.MaxPositions - prompt.Length))
            : null;
        var job = new Job(this, request, prompt, start, observeEstimator, observePhases, constraint);
        // Not even the prefill (and, for a closed answer, its shortest completion) fits: under Kill the job is dropped before any work.
        if (!job.MayStart()) return job.Result with { TotalTime = _time.GetElapsedTime(start) };
        job.Start();
        var options = new GenerationOptions
        {
            MaxNewTokens = job.MaxNew,
            Sampling = request.Sampling,
            StopTokenIds = request.StopTokenIds,
            StopSequences = request.StopSequences,
            ReusePrefix = request.ReusePrefix,
            LogitsProcessors = constraint is null ? null : [constraint],
        };
        try
        {
            var outcome = Engine.Run(prompt, options, Exits, Tokenizer, job, onToken, cancellationToken);
            return job.Finish(outcome);
        }
        finally { job.Dispose(); }
    }

    /// <summary>The deadline logic of one job, plugged into the engine's loop.</summary>
    private sealed class Job : GenerationHooks, IDisposable
    {
        private readonly BudgetedGenerator _owner;
        private readonly BudgetedRequest _request;
        private readonly int[] _prompt;
        private readonly long _start;
        private readonly bool _observePhases;
        private readonly IExecutionTimeObserver? _observer;
        private readonly IPrefillProbingLengthPredictor? _probing;
        private EvictionCapture? _capture;
        private ConcurrentLengthPrediction? _predicting;
        private IForwardObserver? _probe;
        private readonly bool _mayEvict;
        private readonly ConstrainedDecoding? _constraint;
        private long _prefillStart, _decodeStart, _lastLoopEvent;
        private long? _previousStepStart;
        private double _previousEstimate;
        private bool _skipLayers, _prefillStarted;
        private BudgetPlan? _plan;

        public Job(BudgetedGenerator owner, BudgetedRequest request, int[] prompt, long start, bool observeEstimator, bool observePhases, ConstrainedDecoding? constraint)
        {
            _constraint = constraint;
            _owner = owner;
            _request = request;
            _prompt = prompt;
            _start = start;
            _observePhases = observePhases;
            Kill = request.Overrun == OverrunStrategy.Kill;
            BudgetMs = request.Budget.TotalMilliseconds;
            MaxNew = Math.Min(request.MaxNewTokens, owner.Model.Config.MaxPositions - prompt.Length);
            _observer = observeEstimator ? owner.Estimator as IExecutionTimeObserver : null;
            _mayEvict = request.Planner.Eviction is not NoEvictionPolicy;
            _probing = owner.LengthPredictor as IPrefillProbingLengthPredictor;
            _capture = _mayEvict ? request.Planner.Eviction.CreateCapture(owner.Model.Config) : null;
            _probe = _probing?.CreateProbe();
            // The engine restores this much from its prefix cache when the job runs (jobs run one at a time on its worker).
            Reused = request.ReusePrefix ? owner.Engine.ReusablePrefix(prompt, ForwardObservers.Combine(_capture, _probe)) : 0;
            PredictedPrefill = owner.Estimator.PrefillMilliseconds(prompt.Length, Reused);
            Result = new BudgetedResult
            {
                Status = BudgetStatus.Infeasible, PromptIds = prompt, Budget = request.Budget, ReusedPromptTokens = Reused,
                PredictedPrefillTime = TimeSpan.FromMilliseconds(PredictedPrefill),
            };
        }

        /// <summary>Once the job is known to run: the length prediction starts beside the prefill.</summary>
        public void Start()
        {
            var owner = _owner;
            _predicting = owner.LengthPredictor is null || _probing is not null ? null : new ConcurrentLengthPrediction(owner.LengthPredictor, _prompt, owner._pendingPrediction);
            owner._pendingPrediction = _predicting?.Task ?? owner._pendingPrediction; // until taken: the next prediction waits for it
        }

        public bool Kill { get; }
        public double BudgetMs { get; }
        public int MaxNew { get; }
        public double PredictedPrefill { get; }
        /// <summary>Leading prompt tokens the prefix cache holds: not prefilled, and priced as cached.</summary>
        public int Reused { get; }
        public BudgetedResult Result { get; private set; }

        private IExecutionTimeEstimator Estimator => _owner.Estimator;
        private TimeProvider Time => _owner._time;
        private double ElapsedMs(long since) => Time.GetElapsedTime(since).TotalMilliseconds;

        // Whether work expected to take `milliseconds`, then finishing a result of `tokens` tokens, ends by the deadline.
        private bool Fits(double milliseconds, int tokens) => Fits(ElapsedMs(_start), milliseconds, tokens);
        private bool Fits(double elapsedMs, double milliseconds, int tokens) =>
            !Kill || elapsedMs + milliseconds + _owner._finish.Upper(tokens) + Volatile.Read(ref _owner._handoffReserveMs) <= BudgetMs;

        /// <summary>
        /// Whether the job may begin: under Kill its prefill (charged the tail of recent prefills' misses), and for a closed
        /// answer the shortest one's steps, fit.
        /// </summary>
        public bool MayStart() => Fits(_owner._prefillOverrun.Charge(PredictedPrefill) + ShortestAnswerMs(), ShortestAnswer);

        // A closed answer's fewest tokens from the start, and the steps after the prefill's token that they take.
        private int ShortestAnswer => Closes ? _constraint!.Automaton.MinTokensToAccept(_constraint.Automaton.Automaton.Start) : 1;
        private double ShortestAnswerMs()
        {
            double sum = 0, longest = 0;
            for (int i = 1; i < ShortestAnswer; i++)
            {
                double step = Estimator.DecodeStepMilliseconds(_prompt.Length + i);
                (sum, longest) = (sum + step, Math.Max(longest, step));
            }
            return _owner._stepOverrun.Charge(sum, longest);
        }

        public override IForwardObserver? PrefillObserver => ForwardObservers.Combine(_capture, _probe);

        public override bool BeforePrefillChunk(int done, int count)
        {
            if (!_prefillStarted) { _prefillStarted = true; _prefillStart = Time.GetTimestamp(); return true; }
            // The rest of the prompt at the estimator's price, raised by how far the chunks so far ran past it (at least by
            // the tail of recent prefills' misses), then one step.
            double soFar = ElapsedMs(_prefillStart), predictedSoFar = Estimator.PrefillMilliseconds(done, Reused);
            double stretch = Math.Max(1 + _owner._prefillOverrun.TailMiss, predictedSoFar > 0 ? soFar / predictedSoFar : 1);
            double rest = Math.Max(0, PredictedPrefill - predictedSoFar) * stretch;
            return Fits(rest + Math.Max(Estimator.DecodeStepMilliseconds(_prompt.Length), ShortestAnswerMs()), ShortestAnswer);
        }

        public override ExitPolicy? AfterPrefill(KvCache cache, ReadOnlySpan<float> logits)
        {
            var planner = _request.Planner;
            var prefillTime = Time.GetElapsedTime(_prefillStart);
            var firstToken = Time.GetElapsedTime(_start);
            _observer?.ObservePrefill(_prompt.Length, Reused, prefillTime.TotalMilliseconds);
            if (_observePhases) _owner._prefillOverrun.Observe(PredictedPrefill, prefillTime.TotalMilliseconds);

            // The length prediction, unless waiting for it (or running the self-probe's head) would leave no step before the deadline.
            ResponseLengthPrediction? prediction = null;
            var predictorTime = TimeSpan.Zero;
            bool predictionSkipped = false;
            double fullStep = Estimator.DecodeStepMilliseconds(_prompt.Length);
            if (_predicting is not null)
            {
                predictionSkipped = !_predicting.TryTake(() => Fits(fullStep, 1), out prediction, out predictorTime);
                if (!predictionSkipped && _owner._pendingPrediction == _predicting.Task) _owner._pendingPrediction = null;
            }
            else if (_probing is not null)
            {
                predictionSkipped = !Fits(_owner._probe.Upper(1) + fullStep, 1);
                if (!predictionSkipped)
                {
                    long probeStart = Time.GetTimestamp();
                    prediction = _probing.PredictFromProbe(_probe!, _prompt.Length);
                    predictorTime = Time.GetElapsedTime(probeStart);
                    if (_observePhases) _owner._probe.Observe(1, predictorTime.TotalMilliseconds);
                }
            }

            // Plan α (and layer skipping) from what is left once the result is finished (and, when it evicts, evicted).
            long planStart = Time.GetTimestamp();
            BudgetPlan plan;
            using (BudgetTelemetry.Activities.StartActivity("timebill.plan"))
            {
                // The planner prices steps with the estimator; when steps have been running past it, the time left is
                // shrunk by the same factor (equivalently, every step is priced that much higher).
                double stretch = _owner._stepOverrun.MeanFactor;
                plan = _owner.PlanFor(planner, _prompt.Length, prediction?.Length ?? MaxNew, MaxNew, (BudgetMs - ElapsedMs(_start) - _owner._finish.Mean(MaxNew)) / stretch,
                    (_mayEvict ? _owner.EvictionCost(planner.Eviction).Mean(_prompt.Length) : 0) / stretch, ClosingReserve);
            }
            _plan = plan;
            var plannerTime = Time.GetElapsedTime(planStart);

            // Evict once, if the eviction and then one step still fit; otherwise decode with the whole cache.
            var eviction = TimeSpan.Zero;
            bool evictionSkipped = false;
            if (plan.EvictionRatio > 0 && _mayEvict)
            {
                double evictedStep = Estimator.DecodeStepMilliseconds((1 - plan.EvictionRatio) * _prompt.Length, plan.LayersPerToken);
                if (Fits(_owner.EvictionCost(planner.Eviction).Upper(_prompt.Length) + evictedStep, 1))
                {
                    long evictionStart = Time.GetTimestamp();
                    planner.Eviction.Evict(cache, plan.EvictionRatio, _capture);
                    eviction = Time.GetElapsedTime(evictionStart);
                    if (_observePhases) _owner.EvictionCost(planner.Eviction).Observe(_prompt.Length, eviction.TotalMilliseconds);
                }
                else evictionSkipped = true;
            }
            Result = Result with
            {
                Plan = plan,
                PrefillTime = prefillTime,
                TimeToFirstToken = firstToken,
                PredictorTime = predictorTime,
                PlannerTime = plannerTime,
                PredictedDecodeTime = TimeSpan.FromMilliseconds(plan.PredictedDecodeMilliseconds),
                LengthPredictionSkipped = predictionSkipped,
                EvictionTime = eviction,
                EvictionSkipped = evictionSkipped,
            };
            _skipLayers = plan.LayersPerToken is not null && _owner.Exits is not null;
            // The first token comes from the prefill's logits: it may lead only where the steps that fit can complete the answer.
            if (Closes) _constraint!.TokensLeft = WithSpare(1 + StepsThatFit(0, cache.Length(_owner.Model.Config.LayerCount - 1)));
            _decodeStart = _lastLoopEvent = Time.GetTimestamp();
            return _skipLayers ? planner.Exit : ExitPolicy.Off;
        }

        // One step of the count is kept spare while the answer can afford it: a deadline check that finds a step fewer
        // than the last one foresaw (a step past its price, a sum that lands on the deadline) still leaves the closing room.
        private int WithSpare(int tokens) => tokens > _constraint!.MinTokensToAccept ? tokens - 1 : tokens;

        // Whether the deadline closes the constrained answer.
        private bool Closes => Kill && _constraint is not null && _request.CloseBeforeDeadline;

        // The longest closing the constraint can need: the planner's worst case makes room for it.
        private int ClosingReserve => Closes ? _constraint!.Automaton.MaxClosingTokens : 0;

        /// <summary>
        /// How many decode steps, from a cache of <paramref name="cachedEntries"/> entries after <paramref name="generated"/>
        /// tokens, end by the deadline (charged with recent steps' mean miss and one step's tail); counted up to one more than the
        /// longest closing, past which the count changes nothing.
        /// </summary>
        private int StepsThatFit(int generated, int cachedEntries)
        {
            double sum = 0, longest = 0, elapsed = ElapsedMs(_start);
            int steps = 0, enough = ClosingReserve + 1;
            while (steps < enough)
            {
                double step = Estimator.DecodeStepMilliseconds(cachedEntries + steps, _plan!.LayersPerToken);
                (sum, longest) = (sum + step, Math.Max(longest, step));
                if (!Fits(elapsed, _owner._stepOverrun.Charge(sum, longest), generated + steps + 1)) break;
                steps++;
            }
            return steps;
        }

        public override bool OnToken(in GeneratedToken token)
        {
            _lastLoopEvent = Time.GetTimestamp();
            if (_constraint is not null && token.Index == _constraint.Consumed) _constraint.Advance(token.Id);
            return true;
        }

        public override bool BeforeStep(int generated, int cachedEntries)
        {
            long now = _lastLoopEvent = Time.GetTimestamp();
            // What the previous step cost from this check to the next (the step, sampling, the caller's token
            // callback) against its estimate: the misses the next checks charge for.
            if (_observePhases && _previousStepStart is { } previous) _owner._stepOverrun.Observe(_previousEstimate, ElapsedMs(previous));
            double predictedStep = Estimator.DecodeStepMilliseconds(cachedEntries, _plan!.LayersPerToken);
            // A closed answer keeps the steps it needs to complete; when only those fit, it closes on a shortest path. An
            // unfinished one is never cut: when a step ran long and fewer fit than it needs, it closes past the deadline.
            bool closing = Closes && !_constraint!.IsComplete;
            if (!closing && !Fits(_owner._stepOverrun.Charge(predictedStep), generated + 1)) return false; // the next step would end past the deadline
            if (Closes) _constraint!.TokensLeft = WithSpare(StepsThatFit(generated, cachedEntries));
            (_previousStepStart, _previousEstimate) = (now, predictedStep);
            return true;
        }

        public override void AfterStep(int cachedEntries, int layersRun, TimeSpan elapsed) =>
            _observer?.ObserveDecodeStep(cachedEntries, _skipLayers ? layersRun : null, elapsed.TotalMilliseconds);

        /// <summary>The result, once the engine's loop has ended; the total is read when it is complete.</summary>
        public BudgetedResult Finish(GenerationResult outcome)
        {
            if (!outcome.PrefillCompleted)
                return Result with { Status = BudgetStatus.DeadlineExceeded, PrefillTime = Time.GetElapsedTime(_prefillStart), TotalTime = Time.GetElapsedTime(_start) };
            long finishStart = _lastLoopEvent;
            var reason = outcome.StopReason == StopReason.Interrupted ? (StopReason?)null : outcome.StopReason;
            var result = Result with
            {
                Ids = outcome.Ids,
                Text = outcome.Text,
                StopReason = reason,
                LayersPerToken = outcome.LayersPerToken,
                DecodeTime = Time.GetElapsedTime(_decodeStart),
                ClosedEarly = _constraint is { IsComplete: true } && (reason is null || _constraint.Closed),
            };
            var total = Time.GetElapsedTime(_start);
            if (_observePhases) _owner._finish.Observe(outcome.Ids.Count, Time.GetElapsedTime(finishStart).TotalMilliseconds);
            return result with
            {
                Status = reason is not null && total <= _request.Budget ? BudgetStatus.Completed
                    : _plan!.Feasible ? BudgetStatus.DeadlineExceeded : BudgetStatus.Infeasible,
                TotalTime = total,
            };
        }

        public void Dispose() => _capture?.Dispose();
    }

    /// <summary>
    /// Evict alone up to the quality-safe α; beyond it, when an exit policy and heads exist, price the step at the
    /// policy's expected depth and re-solve α with that cheaper step. A plan that evicts is solved again with the
    /// eviction's expected cost (<paramref name="evictionMs"/>) taken from the time left.
    /// </summary>
    private BudgetPlan PlanFor(PlannerOptions planner, int promptLength, double predictedLength, int maxNew, double remainingMs, double evictionMs, int closingReserve)
    {
        var coefficients = Estimator.Coefficients;
        if (planner.FixedEvictionRatio is double fixedRatio)
        {
            double left = fixedRatio > 0 ? remainingMs - evictionMs : remainingMs;
            var adaptive = BudgetPlanner.Plan(coefficients.Step, promptLength, predictedLength, maxNew, left, planner.Pessimism, planner.MaxEvictionRatio, closingReserve: closingReserve);
            var worst = adaptive.WorstCaseLength;
            double decode = coefficients.Step.StepsMilliseconds((1 - fixedRatio) * promptLength, worst - 1);
            return adaptive with { EvictionRatio = fixedRatio, Feasible = decode <= left, PredictedDecodeMilliseconds = decode };
        }
        var plan = PlanWithin(planner, coefficients.Step, promptLength, predictedLength, maxNew, remainingMs, evictionMs, null, closingReserve);
        if (planner.Exit.IsOff || Exits is null || plan.EvictionRatio <= planner.QualitySafeEvictionRatio) return plan;
        double layers = Exits.Calibration.ExpectedLayersPerToken(planner.Exit);
        return PlanWithin(planner, coefficients.StepFor(layers), promptLength, predictedLength, maxNew, remainingMs, evictionMs, layers, closingReserve);
    }

    private static BudgetPlan PlanWithin(PlannerOptions planner, DecodeStepCost step, int promptLength, double predictedLength, int maxNew,
        double remainingMs, double evictionMs, double? layers, int closingReserve)
    {
        var plan = BudgetPlanner.Plan(step, promptLength, predictedLength, maxNew, remainingMs, planner.Pessimism, planner.MaxEvictionRatio, layers, closingReserve);
        return plan.EvictionRatio > 0 && evictionMs > 0
            ? BudgetPlanner.Plan(step, promptLength, predictedLength, maxNew, remainingMs - evictionMs, planner.Pessimism, planner.MaxEvictionRatio, layers, closingReserve)
            : plan;
    }

    /// <summary>Frees the engine when the generator built it, and whatever the generator was handed to own.</summary>
    public void Dispose()
    {
        // A prediction a job went on without may still be running on the predictor this generator may own.
        if (_pendingPrediction is { } pending) ((IAsyncResult)pending).AsyncWaitHandle.WaitOne();
        if (_ownsEngine) Engine.Dispose();
        foreach (var resource in _owned) resource.Dispose();
    }
}
