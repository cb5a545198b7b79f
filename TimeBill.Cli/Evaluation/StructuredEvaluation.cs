using System.Diagnostics;
using System.Text.Json;
using TimeBill.Core.Budget;
using TimeBill.Core.Constraints;
using TimeBill.Core.Tokenization;

namespace TimeBill.Cli.Evaluation;

/// <summary>
/// The structured-output evaluation: jobs whose answer must satisfy a JSON Schema, sampled at temperature 1, under
/// Kill at budgets that are multiples of the median latency of the same job without a deadline (the reference pass),
/// with deadline-aware closing on and off. Each answer is judged by an independent check (System.Text.Json parse,
/// then <see cref="SchemaCheck"/>), not by the automaton. The mask's cost per step is measured by replaying each
/// answer's tokens through a <see cref="ConstrainedDecoding"/> over a logits row of the model's width.
/// </summary>
internal sealed class StructuredEvaluation(BudgetedGenerator generator, StructuredSettings settings, Action<double, double, string?>? progress = null)
{
    /// <summary>The result: rows per cell, every job, the reference latencies and the constraint's size.</summary>
    public sealed record Report(IReadOnlyList<StructuredEvaluationRow> Rows, IReadOnlyList<StructuredEvaluationJob> Jobs, IReadOnlyList<double> ReferenceLatenciesMs,
        double ReferenceMedianMs, double ReferenceMeanTokens, double LiftMs, int AutomatonStates, int MaxClosingTokens, int VocabularySize, string ModelIdentity, StructuredSettings Settings);

    private static readonly string[] Prompts =
    [
        "Command for the arm:", "The red block is left of the gripper. Next command:", "Once upon a time, a robot", "Move to the charger.",
        "The table is clear. What now?", "Stop before the wall.", "Pick up the green cube.", "Report your next move.",
    ];

    public async Task<Report> RunAsync(CancellationToken cancellationToken)
    {
        var tokenizer = generator.Tokenizer ?? throw new ArgumentException("eval-structured needs a model with a tokenizer.");
        var constraint = OutputConstraint.JsonSchema(settings.SchemaJson);
        using var schema = JsonDocument.Parse(settings.SchemaJson);
        long liftStart = Stopwatch.GetTimestamp();
        var lifted = constraint.For(tokenizer);
        double liftMs = Stopwatch.GetElapsedTime(liftStart).TotalMilliseconds;
        int shortest = lifted.MinTokensToAccept(lifted.Automaton.Start);
        if (shortest > settings.MaxNewTokens)
            throw new ArgumentException($"--max-tokens {settings.MaxNewTokens} is below the shortest answer of the schema ({shortest} tokens of this vocabulary).");
        int[] stops = [.. generator.Engine.DefaultStopTokenIds(tokenizer)];
        int references = Math.Min(settings.Jobs, settings.ReferenceJobs);
        double total = 1 + references + settings.Multiples.Count * 2 * settings.Jobs, done = 0;

        progress?.Invoke(done, total, "warming up");
        generator.WarmUp(cancellationToken: cancellationToken);
        await generator.GenerateAsync(Request(0, TimeSpan.FromHours(1), OverrunStrategy.SkipNext, constraint, closing: true), cancellationToken);
        done++;

        var latencies = new List<double>();
        var referenceTokens = new List<int>();
        for (int i = 0; i < references; i++)
        {
            progress?.Invoke(done++, total, $"reference pass (no deadline): job {i + 1}/{references}");
            var result = await generator.GenerateAsync(Request(i, TimeSpan.FromHours(1), OverrunStrategy.SkipNext, constraint, closing: true), cancellationToken);
            latencies.Add(result.TotalTime.TotalMilliseconds);
            referenceTokens.Add(result.Ids.Count);
        }
        double median = BudgetEvaluationRow.Percentile(latencies.Order().ToArray(), 0.5);

        var logits = new float[generator.Model.Config.VocabSize];
        var rows = new List<StructuredEvaluationRow>();
        var jobs = new List<StructuredEvaluationJob>();
        int cell = 0;
        foreach (double multiple in settings.Multiples)
            foreach (bool closing in new[] { true, false })
            {
                cell++;
                double budgetMs = multiple * median;
                var cellJobs = new List<StructuredEvaluationJob>();
                for (int i = 0; i < settings.Jobs; i++)
                {
                    progress?.Invoke(done++, total, $"{multiple:0.##}× ({budgetMs:F1} ms), closing {(closing ? "on" : "off")}: job {i + 1}/{settings.Jobs}");
                    var result = await generator.GenerateAsync(Request(i, TimeSpan.FromMilliseconds(budgetMs), OverrunStrategy.Kill, constraint, closing), cancellationToken);
                    var (parses, valid) = Judge(result.Text, schema.RootElement);
                    cellJobs.Add(StructuredEvaluationJob.From(multiple, budgetMs, closing, i, result, parses, valid, MaskMicroseconds(lifted, stops, result.Ids, logits)));
                }
                jobs.AddRange(cellJobs);
                rows.Add(StructuredEvaluationRow.From(multiple, budgetMs, closing ? "on" : "off", cellJobs, settings.Seed + 3 * cell));
            }
        progress?.Invoke(total, total, "done");
        return new Report(rows, jobs, latencies, median, referenceTokens.DefaultIfEmpty(0).Average(), liftMs, lifted.ReachableStates, lifted.MaxClosingTokens,
            TokenVocabulary.For(tokenizer).Count, generator.Model.Identity, settings);
    }

    /// <summary>Whether <paramref name="text"/> is JSON, and whether that JSON satisfies <paramref name="schema"/>.</summary>
    internal static (bool Parses, bool Valid) Judge(string text, JsonElement schema)
    {
        try
        {
            using var document = JsonDocument.Parse(text);
            return (true, SchemaCheck.Problem(document.RootElement, schema) is null);
        }
        catch (JsonException) { return (false, false); }
    }

    /// <summary>The mean time of the processor's step over the answer's tokens (µs), replayed on a logits row of the model's width.</summary>
    private double MaskMicroseconds(TokenLevelAutomaton lifted, int[] stops, IReadOnlyList<int> ids, float[] logits)
    {
        if (ids.Count == 0) return double.NaN;
        var processor = new ConstrainedDecoding(lifted, stops, settings.MaxNewTokens);
        processor.Reset([]);
        int[] answer = [.. ids];
        long ticks = 0;
        int steps = 0;
        for (; steps < answer.Length; steps++)
        {
            if (steps > 0 && lifted.Next(processor.State, answer[steps - 1]) < 0) break; // an end token: nothing more was masked
            logits.AsSpan().Fill(0.5f);
            long start = Stopwatch.GetTimestamp();
            processor.Process(logits, answer.AsSpan(0, steps));
            ticks += Stopwatch.GetTimestamp() - start;
        }
        return ticks * 1e6 / Stopwatch.Frequency / steps;
    }

    private BudgetedRequest Request(int job, TimeSpan budget, OverrunStrategy overrun, OutputConstraint constraint, bool closing) => new()
    {
        Prompt = Prompts[job % Prompts.Length],
        Budget = budget,
        Overrun = overrun,
        MaxNewTokens = settings.MaxNewTokens,
        Sampling = new() { Temperature = 1, Seed = settings.Seed + job },
        Constraint = constraint,
        CloseBeforeDeadline = closing,
        ReusePrefix = false,
    };
}
