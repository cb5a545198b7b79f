using TimeBill.Core.Sampling;
using TimeBill.Predictors.Evaluation;
using TimeBill.Core.Cache;
using TimeBill.Core.Eviction;
using TimeBill.Core.Generation;
using TimeBill.Core.Model;
using static TorchSharp.torch;

namespace TimeBill.Cli.Evaluation;

/// <summary>Settings of an <see cref="EvictionQualityStudy"/>.</summary>
internal sealed record EvictionStudyOptions
{
    public int Prompts { get; init; } = 24;
    public int Seed { get; init; } = 0;
    public IReadOnlyList<string> Policies { get; init; } = EvictionPolicies.Names;
    public IReadOnlyList<double> Alphas { get; init; } = [0.25, 0.5, 0.75, 0.9];
    public int MinPromptLength { get; init; } = 150;
    public int MaxPromptLength { get; init; } = 400;
    /// <summary>Teacher-forced steps whose next-token distributions are compared (KL).</summary>
    public int KlSteps { get; init; } = 32;
    /// <summary>Greedy steps compared token by token.</summary>
    public int AgreementSteps { get; init; } = 64;
    /// <summary>Greedy continuation compared with ROUGE-L.</summary>
    public int ContinuationLength { get; init; } = 128;
    public double Temperature { get; init; } = 1.0;
    public double TopP { get; init; } = 0.9;
    /// <summary>Prompts measured at once, each on its own thread.</summary>
    public int Workers { get; init; } = 1;
}

/// <summary>One prompt's measurement for one policy and α.</summary>
internal sealed record EvictionSample(int Prompt, int PromptLength, string Policy, double Alpha, int KeptEntries, int TotalEntries, double MeanKl, double Agreement, double RougeL);

/// <summary>Means over prompts for one policy and α.</summary>
internal sealed record EvictionSummary(string Policy, double Alpha, double KeptFraction, double MeanKl, double GreedyAgreement, double RougeLF1, int Prompts);

/// <summary>The study's outcome.</summary>
internal sealed record EvictionStudyReport(IReadOnlyList<int> PromptLengths, IReadOnlyList<EvictionSample> Samples, IReadOnlyList<EvictionSummary> Summary);

/// <summary>
/// How much each eviction policy changes what the model says, against the full cache, on prompts built from the
/// model's own sampled stories. Per prompt the full cache gives a 128-token greedy continuation G; then for every
/// policy and α a fresh prefill is evicted and measured by (a) the mean KL(full ‖ evicted) of the next-token
/// distributions over the first decode steps after eviction, teacher-forced on G (the first token comes from the
/// prefill, before eviction, so it is never affected), (b) the share of the first greedy tokens equal to G's, and
/// (c) ROUGE-L F1 (token LCS) of the whole greedy continuation against G. Continuations run on the generation engine
/// (decode steps on the kernels), the teacher-forced passes on libtorch.
/// </summary>
internal sealed class EvictionQualityStudy(CausalLanguageModel model, EvictionStudyOptions options)
{
    /// <summary>Runs the study; <paramref name="progress"/> hears (work done, work total, what).</summary>
    public EvictionStudyReport Run(Action<int, int, string>? progress = null, CancellationToken cancellationToken = default)
    {
        Validate();
        var policies = options.Policies.Select(name => EvictionPolicies.Create(name, options.Seed)).ToArray();
        var perPrompt = new EvictionSample[options.Prompts][];
        var lengths = new int[options.Prompts];
        int total = options.Prompts * (1 + policies.Length * options.Alphas.Count), done = 0;
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, options.Workers), CancellationToken = cancellationToken };
        // Prompts are independent (own seed, own caches), so workers only change the speed, never the numbers.
        // One engine per worker: an engine runs one job at a time.
        Parallel.For(0, options.Prompts, parallel, () => new GenerationEngine(model), (prompt, _, engine) =>
        {
            int[] ids = SamplePrompt(engine, prompt);
            lengths[prompt] = ids.Length;
            using var reference = Reference(engine, ids);
            progress?.Invoke(Interlocked.Increment(ref done), total, $"prompt {prompt + 1}/{options.Prompts} ({ids.Length} tokens)");
            var rows = new List<EvictionSample>();
            foreach (var policy in policies)
                foreach (double alpha in options.Alphas)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    rows.Add(Measure(engine, prompt, ids, reference, policy, alpha));
                    progress?.Invoke(Interlocked.Increment(ref done), total, $"prompt {prompt + 1}/{options.Prompts}: {policy.Name} α={alpha}");
                }
            perPrompt[prompt] = rows.ToArray();
            return engine;
        }, engine => engine.Dispose());
        var samples = perPrompt.SelectMany(rows => rows).ToList();
        var summary = samples
            .GroupBy(s => (s.Policy, s.Alpha))
            .Select(g => new EvictionSummary(g.Key.Policy, g.Key.Alpha,
                g.Sum(s => (double)s.KeptEntries) / g.Sum(s => (double)s.TotalEntries),
                g.Average(s => s.MeanKl), g.Average(s => s.Agreement), g.Average(s => s.RougeL), g.Count()))
            .ToList();
        return new EvictionStudyReport(lengths, samples, summary);
    }

    /// <summary>The longest prompt: the asked maximum, shortened so prompt + continuation fit the context (384 on a 512 context).</summary>
    private int MaxPromptLength => Math.Min(options.MaxPromptLength, model.Config.MaxPositions - options.ContinuationLength);

    private void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.Prompts, "prompts");
        if (options.MinPromptLength < 2 || options.MaxPromptLength < options.MinPromptLength)
            throw new ArgumentException($"prompt lengths must satisfy 2 ≤ min ≤ max; got {options.MinPromptLength}..{options.MaxPromptLength}.", nameof(options));
        if (options.MinPromptLength > MaxPromptLength)
            throw new ArgumentException($"prompts of at least {options.MinPromptLength} tokens plus a {options.ContinuationLength}-token continuation exceed the model's context of {model.Config.MaxPositions}.", nameof(options));
        if (options.AgreementSteps > options.ContinuationLength || options.KlSteps + 1 > options.ContinuationLength)
            throw new ArgumentException("the KL and agreement steps must fit in the continuation.", nameof(options));
        foreach (double alpha in options.Alphas) EvictionPolicy.ValidateAlpha(alpha);
    }

    /// <summary>
    /// A prefix of the model's own story stream: sampled from BOS at the study's temperature and top-p with a seed per
    /// prompt; when a story ends, BOS starts the next one (a stop token's probability goes to BOS). The length is drawn
    /// uniformly from the allowed range.
    /// </summary>
    private int[] SamplePrompt(GenerationEngine engine, int index)
    {
        var random = new Random(unchecked(options.Seed * 7919 + index));
        int length = random.Next(options.MinPromptLength, MaxPromptLength + 1);
        int bos = model.GenerationConfig.BosTokenId ?? 1;
        var generation = new GenerationOptions
        {
            MaxNewTokens = length - 1,
            Sampling = new SamplingOptions { Temperature = (float)options.Temperature, TopP = (float)options.TopP, Seed = random.Next() },
            StopTokenIds = [],
            LogitsProcessors = [new StopTokensStartOver([.. model.GenerationConfig.StopTokenIds], bos)],
        };
        return [bos, .. engine.Generate([bos], generation).Ids];
    }

    /// <summary>Moves the probability of the stop tokens onto BOS, so a story that ends is followed by the next one.</summary>
    private sealed class StopTokensStartOver(int[] stops, int bos) : ILogitsProcessor
    {
        public void Process(Span<float> logits, ReadOnlySpan<int> generated)
        {
            double max = logits[bos];
            foreach (int stop in stops) if (stop != bos) max = Math.Max(max, logits[stop]);
            double mass = Math.Exp(logits[bos] - max);
            foreach (int stop in stops)
                if (stop != bos)
                {
                    mass += Math.Exp(logits[stop] - max);
                    logits[stop] = float.NegativeInfinity;
                }
            logits[bos] = (float)(max + Math.Log(mass));
        }
    }

    private sealed record FullCacheReference(int[] Greedy, Tensor LogProbabilities) : IDisposable
    {
        public void Dispose() => LogProbabilities.Dispose();
    }

    /// <summary>Greedy decoding of the whole continuation, with every stop token ignored.</summary>
    private GenerationOptions Continuation(EvictionPolicy? policy = null, double alpha = 0) => new()
    {
        MaxNewTokens = options.ContinuationLength,
        StopTokenIds = [],
        Eviction = policy,
        EvictionRatio = alpha,
    };

    private FullCacheReference Reference(GenerationEngine engine, int[] prompt)
    {
        int[] greedy = [.. engine.Generate(prompt, Continuation()).Ids];
        using var forced = model.CreateCache(prompt.Length + options.ContinuationLength);
        model.Forward(prompt, forced).Dispose();
        using var scope = NewDisposeScope();
        var logits = model.Forward(greedy.AsSpan(0, greedy.Length - 1), forced, allLogits: true);
        var logProbabilities = logits.narrow(0, 0, options.KlSteps).log_softmax(-1);
        return new FullCacheReference(greedy, logProbabilities.DetachFromDisposeScope());
    }

    /// <summary>
    /// One evicted prefill measured three ways: the full-cache continuation G fed in one teacher-forced pass gives the
    /// KL; the evicted model's own greedy continuation (the engine's, evicting right after prefill) gives the
    /// agreement and ROUGE-L against G.
    /// </summary>
    private EvictionSample Measure(GenerationEngine engine, int index, int[] prompt, FullCacheReference reference, EvictionPolicy policy, double alpha)
    {
        int length = options.ContinuationLength, kept, total = model.Config.LayerCount * prompt.Length;
        int[] g = reference.Greedy;
        double kl;
        using (var cache = model.CreateCache(prompt.Length + length))
        {
            Prefill(policy, alpha, prompt, cache);
            kept = Enumerable.Range(0, cache.LayerCount).Sum(cache.Length);
            using var scope = NewDisposeScope();
            var logits = model.Forward(g.AsSpan(0, length - 1), cache, allLogits: true);
            var logQ = logits.narrow(0, 0, options.KlSteps).log_softmax(-1);
            var logP = reference.LogProbabilities;
            kl = (logP.exp() * (logP - logQ)).sum(-1).mean().item<float>();
        }
        int[] continuation = [.. engine.Generate(prompt, Continuation(policy, alpha)).Ids];
        int agree = Enumerable.Range(0, options.AgreementSteps).Count(i => continuation[i] == g[i]);
        return new EvictionSample(index, prompt.Length, policy.Name, alpha, kept, total, Math.Max(0, kl),
            (double)agree / options.AgreementSteps, SequenceMetrics.RougeLF1(continuation, g));
    }

    private void Prefill(EvictionPolicy policy, double alpha, int[] prompt, KvCache cache)
    {
        using var capture = policy.CreateCapture(model.Config);
        model.Forward(prompt, cache, observer: capture).Dispose();
        policy.Evict(cache, alpha, capture);
    }
}
