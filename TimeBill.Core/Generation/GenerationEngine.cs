using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading.Channels;
using TimeBill.Core.Cache;
using TimeBill.Core.Decoding;
using TimeBill.Core.Exit;
using TimeBill.Core.Model;
using TimeBill.Core.Sampling;
using TimeBill.Core.Tokenization;

namespace TimeBill.Core.Generation;

/// <summary>
/// The one generation loop of a model: prefill in chunks on libtorch → (evict) → per token: decode step on the
/// kernels, logits processors, sampling, stop conditions, streaming. Jobs from any thread queue on a
/// <see cref="Channel{T}"/> read by one worker thread, which owns the KV cache and the kernels' scratch; a queued
/// job holds no thread. <see cref="GenerationHooks"/> plug the deadline logic and measurements into the loop.
/// The engine copies the model's matrices into the decode kernels once, when it is built; it does not own the model.
/// </summary>
public sealed class GenerationEngine : IDisposable
{
    private readonly Channel<EngineJob> _jobs = Channel.CreateUnbounded<EngineJob>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Thread _worker;
    private readonly float[] _logits;
    private KvCache? _cache;
    private bool _disposed;

    /// <summary>Builds the decode kernels for <paramref name="model"/> (not owned) and starts the worker.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Bad <paramref name="options"/>, named.</exception>
    public GenerationEngine(CausalLanguageModel model, EngineOptions? options = null)
    {
        Model = model ?? throw new ArgumentNullException(nameof(model));
        Options = options ?? new EngineOptions();
        Options.Validate();
        Decoder = new KernelDecoder(model.Config, model.Weights, Options.BFloat16Weights, Options.Tuning, Options.Threads);
        _logits = new float[model.Config.VocabSize];
        var config = model.Config;
        Prefixes = Options.PrefixCacheBytes > 0 ? new PrefixCache(config.LayerCount, config.KvHeadCount, config.HeadDim, Options.PrefixCacheBytes) : null;
        _worker = new Thread(Work) { IsBackground = true, Name = "TimeBill generation" };
        _worker.Start();
    }

    /// <summary>The model.</summary>
    public CausalLanguageModel Model { get; }
    /// <summary>How it runs.</summary>
    public EngineOptions Options { get; }
    /// <summary>The decode kernels (single-token steps).</summary>
    internal KernelDecoder Decoder { get; }
    /// <summary>Keys and values of earlier prompts, reused by prompts that start alike; null when <see cref="EngineOptions.PrefixCacheBytes"/> is 0.</summary>
    public PrefixCache? Prefixes { get; }
    /// <summary>The decode weights' format: <c>float32</c> or <c>bfloat16</c>.</summary>
    public string WeightFormat => Options.BFloat16Weights ? "bfloat16" : "float32";

    /// <summary>Generates from prompt token ids (ids only: no text). Queued behind earlier jobs.</summary>
    /// <exception cref="ArgumentException">Empty prompt, a prompt that fills the context, or bad options.</exception>
    public Task<GenerationResult> GenerateAsync(IReadOnlyList<int> promptIds, GenerationOptions? options = null, IExitModel? exits = null,
        CancellationToken cancellationToken = default) =>
        GenerateAsync(promptIds, options, GenerationHooks.None, exits, cancellationToken);

    /// <summary>As <see cref="GenerateAsync(IReadOnlyList{int}, GenerationOptions?, IExitModel?, CancellationToken)"/>, waiting for the result.</summary>
    public GenerationResult Generate(IReadOnlyList<int> promptIds, GenerationOptions? options = null, IExitModel? exits = null,
        CancellationToken cancellationToken = default) =>
        GenerateAsync(promptIds, options, exits, cancellationToken).GetAwaiter().GetResult();

    /// <summary>As the public overload, with <paramref name="hooks"/> in the loop.</summary>
    internal Task<GenerationResult> GenerateAsync(IReadOnlyList<int> promptIds, GenerationOptions? options, GenerationHooks hooks,
        IExitModel? exits = null, CancellationToken cancellationToken = default)
    {
        var (prompt, checkedOptions) = Check(promptIds, options);
        return Submit(() => Run(prompt, checkedOptions, exits, null, hooks, null, cancellationToken), cancellationToken);
    }

    /// <summary>As the public overload, with <paramref name="hooks"/> in the loop.</summary>
    internal GenerationResult Generate(IReadOnlyList<int> promptIds, GenerationOptions? options, GenerationHooks hooks,
        IExitModel? exits = null, CancellationToken cancellationToken = default) =>
        GenerateAsync(promptIds, options, hooks, exits, cancellationToken).GetAwaiter().GetResult();

    /// <summary>
    /// Prefills <paramref name="prefixIds"/> (what of them is not cached yet), keeps them in the prefix cache and pins
    /// them there until the result is disposed, so later prompts that start with them skip their prefill. Queued
    /// behind earlier jobs.
    /// </summary>
    /// <exception cref="InvalidOperationException">The engine's prefix cache is off (<see cref="EngineOptions.PrefixCacheBytes"/> is 0).</exception>
    /// <exception cref="ArgumentException">An empty prefix, one that fills the context, or an id outside the vocabulary.</exception>
    public Task<PinnedPrefix> PinPrefixAsync(IReadOnlyList<int> prefixIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefixIds);
        var prefixes = Prefixes ?? throw new InvalidOperationException("the engine's prefix cache is off (EngineOptions.PrefixCacheBytes is 0): nothing can be pinned.");
        int[] ids = [.. prefixIds];
        CheckPromptIds(ids, nameof(prefixIds));
        return Submit(() =>
        {
            var cache = RentCache(ids.Length);
            int restored = prefixes.Restore(ids, cache, ids.Length);
            if (ids.Length - restored >= PrefixCache.BlockTokens) Prefill(ids, restored, cache, _logits, null, null, cancellationToken);
            prefixes.Store(ids, cache, cache.NextPosition);
            var pin = prefixes.Pin(ids);
            return new PinnedPrefix(ids, prefixes.Match(ids, ids.Length), pin);
        }, cancellationToken);
    }

    /// <summary>Checks a prompt and options as every generation does, before queueing.</summary>
    internal (int[] Prompt, GenerationOptions Options) Check(IReadOnlyList<int> promptIds, GenerationOptions? options)
    {
        ArgumentNullException.ThrowIfNull(promptIds);
        options ??= new GenerationOptions();
        options.Validate();
        CheckPromptLength(promptIds.Count, nameof(promptIds));
        CheckSampling(options.Sampling, nameof(options));
        return (promptIds.ToArray(), options);
    }

    /// <summary>Throws when <paramref name="sampling"/> names a token outside the vocabulary (its own ranges are checked by Validate).</summary>
    internal void CheckSampling(SamplingOptions sampling, string paramName)
    {
        if (sampling.LogitBias?.Keys.FirstOrDefault(id => id >= Model.Config.VocabSize, -1) is int id and >= 0)
            throw new ArgumentException($"the logit bias names token {id}, outside the vocabulary (0..{Model.Config.VocabSize - 1}).", paramName);
    }

    /// <summary>Throws unless a prompt of <paramref name="length"/> tokens leaves room for one more in the context.</summary>
    internal void CheckPromptLength(int length, string paramName)
    {
        if (length == 0) throw new ArgumentException("the prompt has no tokens.", paramName);
        if (length >= Model.Config.MaxPositions)
            throw new ArgumentException($"the prompt has {length} tokens; the model's context holds {Model.Config.MaxPositions} (one more is needed to answer).", paramName);
    }

    /// <summary>Throws unless <paramref name="ids"/> is a prompt the context holds, of ids inside the vocabulary.</summary>
    internal void CheckPromptIds(ReadOnlySpan<int> ids, string paramName)
    {
        CheckPromptLength(ids.Length, paramName);
        foreach (int id in ids)
            if ((uint)id >= (uint)Model.Config.VocabSize)
                throw new ArgumentException($"prompt token id {id} is outside the vocabulary (0..{Model.Config.VocabSize - 1}).", paramName);
    }

    // The worker's cache, for at least `capacity` entries (allocated for 256 or more, so short jobs do not reallocate it).
    private KvCache RentCache(int capacity) =>
        Model.RentCache(ref _cache, capacity, Math.Min(Model.Config.MaxPositions, Math.Max(capacity, 256)));

    /// <summary>Runs <paramref name="work"/> on the worker after the jobs queued before it; a job cancelled while queued never starts.</summary>
    internal Task<T> Submit<T>(Func<T> work, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var job = new EngineJob<T>(work, cancellationToken);
        if (Thread.CurrentThread == _worker) job.Execute(); // a hook that generates: run it inside the current job
        else if (!_jobs.Writer.TryWrite(job)) throw new ObjectDisposedException(nameof(GenerationEngine));
        else if (cancellationToken.CanBeCanceled)
        {
            // A queued job's caller hears of its cancellation at once; the worker skips the job when it comes to it. A
            // running job ends at its next step, and its task completes only then.
            var registration = cancellationToken.Register(job.CancelIfQueued);
            job.Completion.Task.ContinueWith(_ => registration.Dispose(), TaskScheduler.Default);
        }
        return job.Completion.Task;
    }

    /// <summary>
    /// Runs <paramref name="work"/> on the worker, yielding what it writes. Leaving the enumeration early (or
    /// cancelling) cancels the job and waits until it has ended, so the next job starts right after.
    /// </summary>
    internal async IAsyncEnumerable<T> Stream<T>(Action<ChannelWriter<T>, CancellationToken> work, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var channel = Channel.CreateUnbounded<T>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var job = Submit(() => { work(channel.Writer, stop.Token); return true; }, stop.Token);
        _ = job.ContinueWith(t => channel.Writer.TryComplete(t.Exception?.InnerException), TaskScheduler.Default);
        try
        {
            await foreach (var item in channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
                yield return item;
            await job.ConfigureAwait(false);
        }
        finally
        {
            stop.Cancel();
            await ((Task)job).ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
        }
    }

    private void Work()
    {
        var reader = _jobs.Reader;
        while (reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
            while (reader.TryRead(out var job)) job.Execute();
    }

    /// <summary>
    /// Runs <paramref name="tokens"/> through the model into <paramref name="cache"/> in the fewest chunks of at most
    /// <see cref="EngineOptions.PrefillChunkSize"/>, of equal size (within one token), writing the last position's logits to <paramref name="lastLogits"/>
    /// [vocab]. <paramref name="hooks"/> may stop it before a chunk: then false, and the cache holds the chunks run.
    /// Runs on the calling thread: use it only where no job of this engine uses <paramref name="cache"/>.
    /// </summary>
    /// <exception cref="OperationCanceledException">Cancelled between chunks.</exception>
    internal bool Prefill(ReadOnlySpan<int> tokens, KvCache cache, Span<float> lastLogits, IForwardObserver? observer = null,
        GenerationHooks? hooks = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(cache);
        if (tokens.IsEmpty) throw new ArgumentException("at least one token is needed.", nameof(tokens));
        return Prefill(tokens, 0, cache, lastLogits, observer, hooks, cancellationToken);
    }

    /// <summary>Prefills <c>tokens[from..]</c>; the hooks see chunk offsets into the whole of <paramref name="tokens"/>.</summary>
    private bool Prefill(ReadOnlySpan<int> tokens, int from, KvCache cache, Span<float> lastLogits, IForwardObserver? observer,
        GenerationHooks? hooks, CancellationToken cancellationToken)
    {
        if (lastLogits.Length != Model.Config.VocabSize)
            throw new ArgumentException($"the logits buffer holds {lastLogits.Length} elements; the vocabulary has {Model.Config.VocabSize}.", nameof(lastLogits));
        // Equal chunks: a short last chunk would cost nearly a whole one (a product over a few rows still reads every weight).
        int rest = tokens.Length - from, chunks = (rest + Options.PrefillChunkSize - 1) / Options.PrefillChunkSize;
        for (int i = 0, done = from; i < chunks; i++)
        {
            int count = rest / chunks + (i < rest % chunks ? 1 : 0);
            if (hooks?.BeforePrefillChunk(done, count) == false) return false;
            cancellationToken.ThrowIfCancellationRequested();
            if (i < chunks - 1) Model.Append(tokens.Slice(done, count), cache, observer);
            else
            {
                using var logits = Model.Forward(tokens.Slice(done, count), cache, allLogits: false, observer);
                logits.data<float>().CopyTo(lastLogits);
            }
            done += count;
        }
        return true;
    }

    /// <summary>
    /// The loop, on the worker thread. <paramref name="tokenizer"/> (optional) turns tokens into text and enables stop
    /// sequences; <paramref name="onToken"/> streams each token.
    /// </summary>
    internal GenerationResult Run(int[] prompt, GenerationOptions options, IExitModel? exits, TextTokenizer? tokenizer,
        GenerationHooks? hooks, Action<GeneratedToken>? onToken, CancellationToken cancellationToken)
    {
        hooks ??= GenerationHooks.None;
        var config = Model.Config;
        int capacity = (int)Math.Min(config.MaxPositions, (long)prompt.Length + options.MaxNewTokens);
        var cache = RentCache(capacity);
        long start = Stopwatch.GetTimestamp();

        // The cached prefix, the prefill of the rest (kept for later prompts), the request's own eviction, then
        // whatever the hooks do with the prompt's cache.
        using var capture = options.Eviction?.CreateCapture(config);
        var observer = ForwardObservers.Combine(capture, hooks.PrefillObserver);
        var logits = _logits.AsSpan();
        int reused = options.ReusePrefix ? Prefixes?.Restore(prompt, cache, ReusableLength(prompt.Length, observer)) ?? 0 : 0;
        bool prefilled = Prefill(prompt, reused, cache, logits, observer, hooks, cancellationToken);
        if (options.ReusePrefix) Prefixes?.Store(prompt, cache, cache.NextPosition);
        var prefillTime = Stopwatch.GetElapsedTime(start);
        if (!prefilled)
            return new GenerationResult(prompt, [], "", StopReason.Interrupted, prefillTime, TimeSpan.Zero) { PrefillCompleted = false, ReusedPromptTokens = reused };
        var eviction = options.Eviction?.Evict(cache, options.EvictionRatio, capture);
        var exitPolicy = hooks.AfterPrefill(cache, logits) ?? options.Exit ?? ExitPolicy.Off;
        var decoder = new ExitingDecoder(Model, Decoder, exitPolicy.IsOff ? null : exits, exitPolicy);
        decoder.Begin(logits);

        // The loop.
        var stops = options.StopTokenIds ?? DefaultStopTokenIds(tokenizer);
        var sampler = new TokenSampler(options.Sampling);
        var processors = Processors(options, prompt);
        var detokenizer = tokenizer?.CreateStreamingDecoder();
        var stopSequences = options.StopSequences is { Count: > 0 } sequences && tokenizer is not null ? new StopSequenceMatcher(sequences) : null;
        var released = stopSequences is null ? null : new StringBuilder();
        var generated = new List<int>(Math.Min(options.MaxNewTokens, capacity - prompt.Length + 1));
        Process(processors, logits, generated);
        int next = sampler.Sample(logits);
        StopReason reason;
        while (true)
        {
            if (stops.Contains(next)) { reason = StopReason.StopToken; break; }
            generated.Add(next);
            string text = detokenizer?.Push(next) ?? "";
            if (stopSequences is not null) released!.Append(text = stopSequences.Push(text));
            var token = new GeneratedToken(next, text, generated.Count - 1);
            onToken?.Invoke(token);
            if (stopSequences?.Stopped == true) { reason = StopReason.StopSequence; break; }
            if (!hooks.OnToken(token)) { reason = StopReason.Interrupted; break; }
            if (generated.Count >= options.MaxNewTokens) { reason = StopReason.MaxTokens; break; }
            if (cache.NextPosition >= capacity) { reason = StopReason.ContextFull; break; }
            cancellationToken.ThrowIfCancellationRequested();
            int cached = cache.Length(config.LayerCount - 1);
            if (!hooks.BeforeStep(generated.Count, cached)) { reason = StopReason.Interrupted; break; }
            long stepStart = Stopwatch.GetTimestamp();
            var step = decoder.Step(next, cache, logits);
            hooks.AfterStep(cached, step.LayersRun, Stopwatch.GetElapsedTime(stepStart));
            Process(processors, logits, generated);
            next = sampler.Sample(logits);
        }

        string tail = detokenizer?.Flush() ?? "";
        if (stopSequences is not null)
        {
            tail = reason == StopReason.StopSequence ? "" : stopSequences.Push(tail) + stopSequences.Flush();
            released!.Append(tail);
        }
        if (tail.Length > 0) onToken?.Invoke(new GeneratedToken(-1, tail, generated.Count));
        string responseText = released?.ToString() ?? tokenizer?.Decode(generated) ?? "";
        bool exiting = !exitPolicy.IsOff && exits is not null;
        return new GenerationResult(prompt, generated, responseText, reason, prefillTime, Stopwatch.GetElapsedTime(start) - prefillTime)
        {
            AverageLayersPerToken = exiting ? decoder.AverageLayersPerToken : null,
            AverageExitHeadsPerToken = exiting ? decoder.AverageHeadsPerToken : null,
            LayersPerToken = decoder.AverageLayersPerToken,
            Eviction = eviction,
            ReusedPromptTokens = reused,
        };
    }

    /// <summary>
    /// How many leading tokens of <paramref name="prompt"/> the prefix cache would restore for a job whose prefill
    /// <paramref name="observer"/> watches (on the worker, before the job runs: what the planner prices).
    /// </summary>
    internal int ReusablePrefix(ReadOnlySpan<int> prompt, IForwardObserver? observer) =>
        Prefixes?.Match(prompt, ReusableLength(prompt.Length, observer)) ?? 0;

    // The last prompt token always runs (its logits start the answer), and so do the tokens an observer must see.
    private static int ReusableLength(int promptLength, IForwardObserver? observer) =>
        promptLength - Math.Max(1, observer?.ObservedPromptTokens is int observed ? Math.Min(observed, promptLength) : 1);

    /// <summary>The ids a response stops on when the request names none: generation_config.json's list and the tokenizer's EOS.</summary>
    public IReadOnlyCollection<int> DefaultStopTokenIds(TextTokenizer? tokenizer) =>
        tokenizer?.EosTokenId is int eos && !Model.GenerationConfig.StopTokenIds.Contains(eos)
            ? [.. Model.GenerationConfig.StopTokenIds, eos]
            : Model.GenerationConfig.StopTokenIds;

    private ILogitsProcessor[] Processors(GenerationOptions options, int[] prompt)
    {
        var chain = new List<ILogitsProcessor>();
        if (options.Sampling.LogitBias is { Count: > 0 } bias) chain.Add(new LogitBiasProcessor(bias));
        if (options.Sampling.HasPenalties) chain.Add(new PenaltyProcessor(options.Sampling, Model.Config.VocabSize));
        if (options.LogitsProcessors is { } more) chain.AddRange(more);
        foreach (var processor in chain) processor.Reset(prompt);
        return [.. chain];
    }

    private static void Process(ILogitsProcessor[] chain, Span<float> logits, List<int> generated)
    {
        foreach (var processor in chain) processor.Process(logits, CollectionsMarshal.AsSpan(generated));
    }

    /// <summary>Stops the worker once the queued jobs have run, then frees the kernels' weights and the cache.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _jobs.Writer.TryComplete();
        if (Thread.CurrentThread != _worker) _worker.Join();
        _cache?.Dispose();
        Prefixes?.Dispose();
        Decoder.Dispose();
    }

    private abstract class EngineJob
    {
        public abstract void Execute();
    }

    private sealed class EngineJob<T>(Func<T> work, CancellationToken cancellationToken) : EngineJob
    {
        private const int Queued = 0, Running = 1, Dropped = 2;
        private int _state;

        public TaskCompletionSource<T> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void CancelIfQueued()
        {
            if (Interlocked.CompareExchange(ref _state, Dropped, Queued) == Queued) Completion.TrySetCanceled(cancellationToken);
        }

        public override void Execute()
        {
            if (Interlocked.CompareExchange(ref _state, Running, Queued) != Queued) return; // dropped while queued
            if (cancellationToken.IsCancellationRequested) { Completion.TrySetCanceled(cancellationToken); return; }
            try { Completion.TrySetResult(work()); }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested) { Completion.TrySetCanceled(cancellationToken); }
            catch (Exception e) { Completion.TrySetException(e); }
        }
    }
}
