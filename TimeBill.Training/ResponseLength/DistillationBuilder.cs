using System.Collections.Concurrent;
using TimeBill.Core.Model;

namespace TimeBill.Predictors.ResponseLength;

/// <summary>
/// Builds a distillation dataset by running the target model. Without prompts it samples stories from BOS
/// at the deployment settings and cuts <see cref="DistillationSettings.PrefixesPerStory"/> prefixes of random
/// length from each (every prefix's remainder is an exact sample of the response to it). With prompts, story i is
/// prompt i and its one record is the sampled response to it. Several workers, each with its own model copy,
/// sample stories in parallel; stories are written in index order so the file stays resumable.
/// </summary>
internal sealed class DistillationBuilder
{
    private readonly Func<CausalLanguageModel> _loadModel;

    /// <summary>A builder whose workers each call <paramref name="loadModel"/> for their own model copy (owned by the builder).</summary>
    public DistillationBuilder(Func<CausalLanguageModel> loadModel) =>
        _loadModel = loadModel ?? throw new ArgumentNullException(nameof(loadModel));

    /// <summary>
    /// Appends stories to <paramref name="file"/> until it holds at least <paramref name="targetPrompts"/> prompts
    /// (or every prompt of <paramref name="prompts"/> was used).
    /// </summary>
    /// <param name="file">An open dataset file (possibly resumed).</param>
    /// <param name="targetPrompts">Prompts wanted in total.</param>
    /// <param name="prompts">Prompt token ids (BOS included) to use instead of self-sampled stories; null samples stories.</param>
    /// <param name="workers">Parallel workers (each loads a model).</param>
    /// <param name="progress">Called after each written story.</param>
    /// <param name="cancellationToken">Stops between stories; what was written stays.</param>
    public void Build(DistillationDatasetFile file, int targetPrompts, IReadOnlyList<int[]>? prompts = null, int workers = 1,
        Action<DistillationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentOutOfRangeException.ThrowIfLessThan(workers, 1);
        var settings = file.Settings;
        int written = file.Stories.Sum(s => s.Prefixes.Length);
        long nextStory = file.Stories.Count;
        long storyLimit = prompts?.Count ?? long.MaxValue;
        long tokens = 0;
        progress?.Invoke(new DistillationProgress(file.Stories.Count, written, targetPrompts, 0));
        if (written >= targetPrompts || nextStory >= storyLimit) return;

        var done = new ConcurrentDictionary<long, DistilledStory>();
        var gate = new object();
        long claim = nextStory - 1;
        bool finished = false;
        Exception? failure = null;

        void Worker()
        {
            try
            {
                using var model = _loadModel();
                using var sampler = new ContinuationSampler(model, settings.MaxTotalTokens);
                int bos = model.GenerationConfig.BosTokenId ?? model.GenerationConfig.StopTokenIds.First();
                while (!Volatile.Read(ref finished) && !cancellationToken.IsCancellationRequested)
                {
                    long story = Interlocked.Increment(ref claim);
                    if (story >= storyLimit) break;
                    int[] prompt = prompts is null ? [bos] : prompts[(int)story];
                    var (ids, cap) = sampler.Continue(prompt, settings.SamplingFor(story), cancellationToken);
                    Interlocked.Add(ref tokens, ids.Length - prompt.Length);
                    int[] prefixes = prompts is null ? ChoosePrefixes(settings, story, ids.Length, cap) : [prompt.Length];
                    done[story] = new DistilledStory(story, ids, cap, prefixes);
                    lock (gate)
                    {
                        while (!finished && done.TryRemove(nextStory, out var ready))
                        {
                            file.Append(ready);
                            written += ready.Prefixes.Length;
                            nextStory++;
                            progress?.Invoke(new DistillationProgress(file.Stories.Count, written, targetPrompts, Interlocked.Read(ref tokens)));
                            if (written >= targetPrompts || nextStory >= storyLimit) Volatile.Write(ref finished, true);
                        }
                    }
                }
            }
            catch (OperationCanceledException) { }
            catch (Exception e) { failure ??= e; Volatile.Write(ref finished, true); }
        }

        var threads = Enumerable.Range(0, workers).Select(_ => new Thread(Worker, 16 << 20) { IsBackground = true }).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        if (failure is not null) throw new InvalidOperationException($"distillation failed: {failure.Message}", failure);
        cancellationToken.ThrowIfCancellationRequested();
    }

    /// <summary>
    /// Distinct prompt lengths for a story of <paramref name="length"/> tokens, uniform over
    /// [MinPrefix, min(MaxPrefix, length)] (a capped story keeps at least one response token), seeded per story.
    /// </summary>
    public static int[] ChoosePrefixes(DistillationSettings settings, long story, int length, bool hitLengthCap)
    {
        int lo = settings.MinPrefix, hi = Math.Min(settings.MaxPrefix, hitLengthCap ? length - 1 : length);
        if (hi < lo) return [];
        var random = new Random(DistillationSettings.DeriveSeed(settings.Seed, story, 2));
        int range = hi - lo + 1;
        if (range <= settings.PrefixesPerStory) return Enumerable.Range(lo, range).ToArray();
        var chosen = new SortedSet<int>();
        while (chosen.Count < settings.PrefixesPerStory) chosen.Add(random.Next(lo, hi + 1));
        return [.. chosen];
    }
}
