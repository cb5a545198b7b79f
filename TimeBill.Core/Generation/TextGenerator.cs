using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using TimeBill.Core.Cache;
using TimeBill.Core.Exit;
using TimeBill.Core.Model;
using TimeBill.Core.Sampling;
using TimeBill.Core.Tokenization;

namespace TimeBill.Core.Generation;

/// <summary>
/// Generates text with a model: prefill the prompt, then sample one token per step until a stop token, the
/// token limit or the context ends. Calls from several threads are queued, one generation at a time, over
/// one reused KV cache. Cancellation is checked between steps and leaves the generator usable.
/// </summary>
public sealed class TextGenerator : IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private KvCache? _cache;

    /// <summary>Creates a generator over a loaded model and its tokenizer (neither is owned).</summary>
    public TextGenerator(CausalLanguageModel model, TextTokenizer tokenizer)
        : this(model, tokenizer, null)
    {
    }

    /// <summary>
    /// Creates a generator that can also decode with early exit (<see cref="GenerationOptions.Exit"/>) using
    /// <paramref name="exits"/> (trained exit heads and predictor for this model; not owned).
    /// </summary>
    /// <exception cref="ArgumentException">The exit heads were trained for another model.</exception>
    public TextGenerator(CausalLanguageModel model, TextTokenizer tokenizer, IExitModel? exits)
    {
        Model = model ?? throw new ArgumentNullException(nameof(model));
        Tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
        if (exits is not null && exits.ModelIdentity != model.Identity)
            throw new ArgumentException($"the exit heads were trained for model '{exits.ModelIdentity}', not '{model.Identity}'.", nameof(exits));
        Exits = exits;
    }

    /// <summary>The model.</summary>
    public CausalLanguageModel Model { get; }
    /// <summary>The tokenizer.</summary>
    public TextTokenizer Tokenizer { get; }
    /// <summary>Exit heads and predictor used when a generation asks for an exit policy; null if none.</summary>
    public IExitModel? Exits { get; }

    /// <summary>Generates a response to <paramref name="prompt"/> (BOS is prepended when the model has one).</summary>
    public Task<GenerationResult> GenerateAsync(string prompt, GenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        int[] ids = Tokenizer.EncodePrompt(prompt);
        return Task.Run(() => Generate(ids, options, null, cancellationToken), cancellationToken);
    }

    /// <summary>Streams the response token by token as it is produced.</summary>
    public async IAsyncEnumerable<GeneratedToken> StreamAsync(
        string prompt, GenerationOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        int[] ids = Tokenizer.EncodePrompt(prompt);
        var channel = Channel.CreateUnbounded<GeneratedToken>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var producer = Task.Run(() =>
        {
            try { Generate(ids, options, token => channel.Writer.TryWrite(token), cancellationToken); channel.Writer.Complete(); }
            catch (Exception e) { channel.Writer.Complete(e); }
        }, CancellationToken.None);
        await foreach (var token in channel.Reader.ReadAllAsync(CancellationToken.None))
            yield return token;
        await producer;
    }

    /// <summary>
    /// Generates from prompt token ids on the calling thread, reporting each token to <paramref name="onToken"/>.
    /// </summary>
    /// <exception cref="ArgumentException">Empty prompt, or a prompt that fills the model's whole context.</exception>
    /// <exception cref="OperationCanceledException">Cancelled between steps.</exception>
    public GenerationResult Generate(IReadOnlyList<int> promptIds, GenerationOptions? options = null,
        Action<GeneratedToken>? onToken = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(promptIds);
        options ??= new GenerationOptions();
        options.Validate();
        if (promptIds.Count == 0) throw new ArgumentException("the prompt has no tokens.", nameof(promptIds));
        if (promptIds.Count >= Model.Config.MaxPositions)
            throw new ArgumentException($"the prompt has {promptIds.Count} tokens; the model's context holds {Model.Config.MaxPositions}.", nameof(promptIds));

        _gate.Wait(cancellationToken);
        try
        {
            return Run(promptIds.ToArray(), options, onToken, cancellationToken);
        }
        finally { _gate.Release(); }
    }

    private GenerationResult Run(int[] prompt, GenerationOptions options, Action<GeneratedToken>? onToken, CancellationToken cancellationToken)
    {
        int capacity = Math.Min(Model.Config.MaxPositions, prompt.Length + options.MaxNewTokens);
        var cache = Model.RentCache(ref _cache, capacity);
        var stops = options.StopTokenIds ?? Model.GenerationConfig.StopTokenIds;
        var sampler = new TokenSampler(options.Sampling);
        var decoder = Tokenizer.CreateStreamingDecoder();
        var generated = new List<int>();

        var exit = options.Exit is { IsOff: false } policy ? new ExitingDecoder(Model, Exits, policy) : null;
        var clock = Stopwatch.StartNew();
        using var capture = options.Eviction?.CreateCapture(Model.Config);
        int next = sampler.Sample(exit is null ? Model.ForwardLast(prompt, cache, capture) : exit.Prefill(prompt, cache, capture));
        var prefillTime = clock.Elapsed;
        var eviction = options.Eviction?.Evict(cache, options.EvictionRatio, capture);
        StopReason reason;
        while (true)
        {
            if (stops.Contains(next)) { reason = StopReason.StopToken; break; }
            generated.Add(next);
            onToken?.Invoke(new GeneratedToken(next, decoder.Push(next), generated.Count - 1));
            if (generated.Count >= options.MaxNewTokens) { reason = StopReason.MaxTokens; break; }
            if (cache.NextPosition >= capacity) { reason = StopReason.ContextFull; break; }
            cancellationToken.ThrowIfCancellationRequested();
            next = sampler.Sample(exit is null ? Model.ForwardLast([next], cache) : exit.Step(next, cache).Logits);
        }
        string tail = decoder.Flush();
        if (tail.Length > 0) onToken?.Invoke(new GeneratedToken(-1, tail, generated.Count));
        return new GenerationResult(prompt, generated, Tokenizer.Decode(generated), reason, prefillTime, clock.Elapsed - prefillTime)
        {
            AverageLayersPerToken = exit?.AverageLayersPerToken,
            AverageExitHeadsPerToken = exit?.AverageHeadsPerToken,
            Eviction = eviction,
        };
    }

    /// <summary>Frees the cache.</summary>
    public void Dispose()
    {
        _cache?.Dispose();
        _gate.Dispose();
    }
}
