using TimeBill.Predictors.Evaluation;
using TimeBill.Core.Exit;
using TimeBill.Core.Generation;
using TimeBill.Core.Model;
using TimeBill.Core.Sampling;

namespace TimeBill.Predictors.Exit;

/// <summary>Settings of an exit comparison.</summary>
internal sealed record ExitEvaluationOptions
{
    /// <summary>Decoded tokens per prompt (stop tokens do not end a run, so every run is equally long).</summary>
    public int Steps { get; init; } = 128;
    /// <summary>Thresholds τ swept for classic and predictive exit.</summary>
    public IReadOnlyList<double> Thresholds { get; init; } = [0.3, 0.5, 0.7, 0.8, 0.9, 0.95];
    /// <summary>Also compare sampled decoding (temperature 1, top-p 0.9, the same seed for every method of a prompt).</summary>
    public bool Sampled { get; init; } = true;
    /// <summary>Base seed of the samplers.</summary>
    public int Seed { get; init; }
    /// <summary>Fallback of predictive exit.</summary>
    public ExitFallback Fallback { get; init; } = ExitFallback.FullDepth;
}

/// <summary>One method at one threshold, aggregated over the prompts of one decoding mode.</summary>
/// <param name="Decoding">"greedy" or "sampled".</param>
/// <param name="Method">"full", "classic" or "predictive".</param>
/// <param name="Threshold">τ (+∞ for full depth).</param>
/// <param name="LayersPerToken">Average decoder layers run per decoded token.</param>
/// <param name="HeadsPerToken">Average exit heads evaluated per decoded token.</param>
/// <param name="TokensPerSecond">Decode tokens per second from the median step time (robust to preemption by other processes).</param>
/// <param name="Speedup">Median-step tokens per second relative to full depth in the same interleaved run.</param>
/// <param name="MeanTokensPerSecond">Decoded tokens over total decode time (prefill excluded), all prompts together.</param>
/// <param name="TokenAgreement">Mean share of positions equal to the full model's tokens.</param>
/// <param name="RougeL">Mean ROUGE-L F1 (token LCS) against the full model's tokens.</param>
/// <param name="Perplexity">The full model's perplexity of the generated tokens.</param>
/// <param name="Tokens">Generated tokens scored (the first of each run comes from the prefill).</param>
internal sealed record ExitEvaluationRow(
    string Decoding, string Method, double Threshold, double LayersPerToken, double HeadsPerToken, double TokensPerSecond,
    double Speedup, double MeanTokensPerSecond, double TokenAgreement, double RougeL, double Perplexity, int Tokens);

/// <summary>
/// Compares full-depth decoding, classic early exit and predictive exit on the same prompts. All methods decode a
/// prompt on the same engine, one after another in an order that rotates from prompt to prompt, and every step is
/// timed on its own, so machine load (other processes) hits them alike; absolute tokens/s are still only as steady as
/// the machine.
/// </summary>
internal static class ExitEvaluation
{
    /// <summary>Runs the comparison; <paramref name="progress"/> gets (done, total) runs.</summary>
    /// <exception cref="ArgumentException">No prompts, or a non-positive step count.</exception>
    public static IReadOnlyList<ExitEvaluationRow> Run(GenerationEngine engine, IExitModel exits, IReadOnlyList<int[]> prompts,
        ExitEvaluationOptions? options = null, Action<int, int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(engine);
        var model = engine.Model;
        ArgumentNullException.ThrowIfNull(exits);
        ArgumentNullException.ThrowIfNull(prompts);
        options ??= new ExitEvaluationOptions();
        if (prompts.Count == 0) throw new ArgumentException("no prompts to evaluate.", nameof(prompts));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.Steps);

        var methods = new List<(string Method, double Threshold, ExitPolicy Policy)> { ("full", double.PositiveInfinity, ExitPolicy.Off) };
        foreach (double tau in options.Thresholds)
        {
            methods.Add(("classic", tau, ExitPolicy.AtThreshold(tau, ExitStrategy.Classic)));
            methods.Add(("predictive", tau, new ExitPolicy { Threshold = tau, Strategy = ExitStrategy.Predictive, Fallback = options.Fallback }));
        }
        var modes = options.Sampled ? new[] { "greedy", "sampled" } : ["greedy"];
        int capacity = prompts.Max(p => p.Length) + options.Steps + 1;
        if (capacity > model.Config.MaxPositions) throw new ArgumentException($"prompt + {options.Steps} steps exceed the model's context of {model.Config.MaxPositions}.");
        var policies = methods.Select(m => m.Policy).ToArray();
        // Warm-up (JIT, allocator) outside the measurement.
        DecodeEach(engine, exits, policies, prompts[0], Math.Min(8, options.Steps), SamplingOptions.Greedy, 0);

        int total = modes.Length * prompts.Count, done = 0;
        var rows = new List<ExitEvaluationRow>();
        foreach (string mode in modes)
        {
            var runs = new DecodeRun[methods.Count, prompts.Count];
            for (int p = 0; p < prompts.Count; p++)
            {
                var sampling = mode == "greedy" ? SamplingOptions.Greedy : new SamplingOptions { Temperature = 1f, TopP = 0.9f, Seed = options.Seed + p };
                var result = DecodeEach(engine, exits, policies, prompts[p], options.Steps, sampling, p);
                for (int m = 0; m < methods.Count; m++) runs[m, p] = result[m];
                progress?.Invoke(++done, total);
            }
            Summarise(model, prompts, methods, mode, runs, rows);
        }
        return rows;
    }

    private static void Summarise(CausalLanguageModel model, IReadOnlyList<int[]> prompts, List<(string Method, double Threshold, ExitPolicy Policy)> methods,
        string mode, DecodeRun[,] runs, List<ExitEvaluationRow> rows)
    {
            double fullSpeed = 0;
            for (int m = 0; m < methods.Count; m++)
            {
                double seconds = 0, layers = 0, heads = 0, agreement = 0, rouge = 0, nll = 0;
                int tokens = 0, decoded = 0, scored = 0;
                var allSteps = new List<double>();
                for (int p = 0; p < prompts.Count; p++)
                {
                    var run = runs[m, p];
                    seconds += run.Seconds;
                    layers += run.Layers;
                    heads += run.Heads;
                    tokens += run.Tokens.Count;
                    decoded += run.Steps;
                    allSteps.AddRange(run.StepSeconds);
                    agreement += SequenceMetrics.TokenAgreement(runs[0, p].Tokens, run.Tokens);
                    rouge += SequenceMetrics.RougeLF1(runs[0, p].Tokens, run.Tokens);
                    var (n, c) = ExitQuality.FullModelNll(model, prompts[p], run.Tokens);
                    nll += n;
                    scored += c;
                }
                allSteps.Sort();
                double median = allSteps.Count == 0 ? double.NaN : allSteps[allSteps.Count / 2];
                double speed = 1 / median, meanSpeed = decoded / seconds;
                if (m == 0) fullSpeed = speed;
                rows.Add(new ExitEvaluationRow(mode, methods[m].Method, methods[m].Threshold, layers / Math.Max(1, decoded), heads / Math.Max(1, decoded), speed,
                    speed / fullSpeed, meanSpeed, agreement / prompts.Count, rouge / prompts.Count, Math.Exp(nll / Math.Max(1, scored)), tokens));
            }
    }

    private sealed record DecodeRun(IReadOnlyList<int> Tokens, double Seconds, List<double> StepSeconds, int Steps, double Layers, double Heads);

    /// <summary>Times every decode step of a job.</summary>
    private sealed class StepTimer(int steps) : GenerationHooks
    {
        public List<double> Seconds { get; } = new(steps);

        public override void AfterStep(int cachedEntries, int layersRun, TimeSpan elapsed) => Seconds.Add(elapsed.TotalSeconds);
    }

    /// <summary>
    /// Decodes the prompt with every method on the engine, one after another in an order that rotates with
    /// <paramref name="rotation"/>, so that load from other processes falls on all methods alike; each step is timed on its own.
    /// </summary>
    private static DecodeRun[] DecodeEach(GenerationEngine engine, IExitModel exits, ExitPolicy[] policies, int[] prompt, int steps,
        SamplingOptions sampling, int rotation)
    {
        int n = policies.Length;
        var runs = new DecodeRun[n];
        for (int r = 0; r < n; r++)
        {
            int m = (r + rotation) % n;
            var timer = new StepTimer(steps);
            var options = new GenerationOptions { MaxNewTokens = steps, Sampling = sampling, StopTokenIds = [], Exit = policies[m] };
            var result = engine.Generate(prompt, options, timer, policies[m].IsOff ? null : exits);
            int decoded = timer.Seconds.Count;
            runs[m] = new DecodeRun(result.Ids, timer.Seconds.Sum(), timer.Seconds, decoded, result.LayersPerToken * decoded,
                (result.AverageExitHeadsPerToken ?? 0) * decoded);
        }
        return runs;
    }
}
