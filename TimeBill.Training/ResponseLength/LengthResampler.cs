using System.Text;
using System.Text.Json;
using TimeBill.Core.Model;

namespace TimeBill.Predictors.ResponseLength;

/// <summary>
/// Re-samples test prompts several times with fresh seeds (same settings) and appends the lengths to a JSONL file,
/// one prompt per line; a stopped run resumes by skipping the prompts already in the file.
/// </summary>
internal static class LengthResampler
{
    /// <summary>
    /// Picks up to <paramref name="count"/> test records: each (story, prefix) is kept when a seeded hash falls below
    /// <paramref name="share"/>, then the first <paramref name="count"/> in story order are taken. The choice of a story's
    /// prompts never depends on later stories, so re-sampling can start (and resume) while the dataset still grows.
    /// </summary>
    public static IReadOnlyList<LengthRecord> ChooseTestPrompts(IReadOnlyList<LengthRecord> testRecords, int count, int seed, double share = 0.35) =>
        testRecords
            .Where(r => DistillationSettings.DeriveSeed(seed, r.Story, 0x7E57 + r.PromptIds.Length) / (double)int.MaxValue < share)
            .OrderBy(r => r.Story).ThenBy(r => r.PromptIds.Length)
            .Take(count).ToList();

    /// <summary>Reads a resample file (missing file: empty list; a torn last line is ignored).</summary>
    public static List<ResampledPrompt> Read(string path)
    {
        var list = new List<ResampledPrompt>();
        if (!File.Exists(path)) return list;
        foreach (string line in File.ReadLines(path))
        {
            try { if (JsonSerializer.Deserialize<ResampledPrompt>(line, PredictorJson.Options) is { } r) list.Add(r); }
            catch (JsonException) { break; }
        }
        return list;
    }

    /// <summary>
    /// Samples <paramref name="samples"/> responses for each prompt not yet in <paramref name="path"/>, with
    /// <paramref name="workers"/> model copies in parallel.
    /// </summary>
    public static List<ResampledPrompt> Run(Func<CausalLanguageModel> loadModel, DistillationSettings settings,
        IReadOnlyList<LengthRecord> prompts, int samples, string path, int workers = 1,
        Action<int, int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(samples, 1);
        var existing = Read(path);
        // Rewrite the complete lines so a torn tail is dropped.
        File.WriteAllLines(path, existing.Select(e => JsonSerializer.Serialize(e, PredictorJson.Options)));
        var have = existing.Select(e => (e.Story, e.Prefix)).ToHashSet();
        var todo = prompts.Where(p => !have.Contains((p.Story, p.PromptIds.Length))).ToList();
        var results = new List<ResampledPrompt>(existing);
        var gate = new object();
        int next = -1;
        progress?.Invoke(results.Count, prompts.Count);
        using var writer = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read);
        Exception? failure = null;

        void Worker()
        {
            try
            {
                using var model = loadModel();
                using var sampler = new ContinuationSampler(model, settings.MaxTotalTokens);
                int i;
                while ((i = Interlocked.Increment(ref next)) < todo.Count && !cancellationToken.IsCancellationRequested && failure is null)
                {
                    var record = todo[i];
                    var lengths = new int[samples];
                    int caps = 0;
                    for (int j = 0; j < samples; j++)
                    {
                        var sampling = settings.SamplingFor(record.Story, 1000 + record.PromptIds.Length * 64 + j);
                        var (ids, cap) = sampler.Continue(record.PromptIds, sampling, cancellationToken);
                        lengths[j] = ids.Length - record.PromptIds.Length;
                        if (cap) caps++;
                    }
                    var result = new ResampledPrompt(record.Story, record.PromptIds.Length, lengths, caps);
                    lock (gate)
                    {
                        writer.Write(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(result, PredictorJson.Options) + "\n"));
                        writer.Flush();
                        results.Add(result);
                        progress?.Invoke(results.Count, prompts.Count);
                    }
                }
            }
            catch (OperationCanceledException) { }
            catch (Exception e) { failure ??= e; }
        }

        var threads = Enumerable.Range(0, workers).Select(_ => new Thread(Worker, 16 << 20) { IsBackground = true }).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        if (failure is not null) throw new InvalidOperationException($"re-sampling failed: {failure.Message}", failure);
        cancellationToken.ThrowIfCancellationRequested();
        return results;
    }
}
