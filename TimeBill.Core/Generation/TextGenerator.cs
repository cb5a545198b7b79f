using System.Runtime.CompilerServices;
using TimeBill.Core.Cache;
using TimeBill.Core.Exit;
using TimeBill.Core.Model;
using TimeBill.Core.Tokenization;

namespace TimeBill.Core.Generation;

/// <summary>
/// Generates text with a model: prefill the prompt, then sample one token per step until a stop token, a stop
/// sequence, the token limit or the context ends. Runs on a <see cref="GenerationEngine"/>: calls from several
/// threads queue for its one worker. Cancelling, or leaving a stream early, ends the job within a step and leaves the
/// generator usable.
/// </summary>
public sealed class TextGenerator : IDisposable
{
    private readonly bool _ownsEngine;

    /// <summary>Creates a generator over a loaded model and its tokenizer (neither is owned); it builds its own engine.</summary>
    public TextGenerator(CausalLanguageModel model, TextTokenizer tokenizer)
        : this(model, tokenizer, null)
    {
    }

    /// <summary>
    /// Creates a generator that can also decode with early exit (<see cref="GenerationOptions.Exit"/>) using
    /// <paramref name="exits"/> (trained exit heads and predictor for this model; not owned).
    /// </summary>
    /// <exception cref="ArgumentException">The exit heads were trained for another model.</exception>
    public TextGenerator(CausalLanguageModel model, TextTokenizer tokenizer, IExitModel? exits, EngineOptions? engine = null)
        : this(new GenerationEngine(model ?? throw new ArgumentNullException(nameof(model)), engine), tokenizer, exits, ownsEngine: true)
    {
    }

    /// <summary>Creates a generator on an engine shared with other generators (not owned).</summary>
    /// <exception cref="ArgumentException">The exit heads were trained for another model.</exception>
    public TextGenerator(GenerationEngine engine, TextTokenizer tokenizer, IExitModel? exits = null)
        : this(engine, tokenizer, exits, ownsEngine: false)
    {
    }

    private TextGenerator(GenerationEngine engine, TextTokenizer tokenizer, IExitModel? exits, bool ownsEngine)
    {
        Engine = engine ?? throw new ArgumentNullException(nameof(engine));
        _ownsEngine = ownsEngine;
        Tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
        if (exits is not null && !engine.Model.IsIdentifiedBy(exits.ModelIdentity))
            throw new ArgumentException($"the exit heads were trained for model '{exits.ModelIdentity}', not '{engine.Model.Identity}'.", nameof(exits));
        Exits = exits;
    }

    /// <summary>The engine the jobs run on.</summary>
    public GenerationEngine Engine { get; }
    /// <summary>The model.</summary>
    public CausalLanguageModel Model => Engine.Model;
    /// <summary>The tokenizer.</summary>
    public TextTokenizer Tokenizer { get; }
    /// <summary>Exit heads and predictor used when a generation asks for an exit policy; null if none.</summary>
    public IExitModel? Exits { get; }

    /// <summary>Generates a response to <paramref name="prompt"/> (BOS is prepended when the model has one).</summary>
    public Task<GenerationResult> GenerateAsync(string prompt, GenerationOptions? options = null, CancellationToken cancellationToken = default) =>
        GenerateAsync(Tokenizer.EncodePrompt(prompt), options, cancellationToken);

    /// <summary>
    /// Streams the response token by token as it is produced. Leaving the loop early (or cancelling) ends the job
    /// within one step; the next job does not wait for the abandoned one to run to its limit.
    /// </summary>
    public async IAsyncEnumerable<GeneratedToken> StreamAsync(
        string prompt, GenerationOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var token in StreamAsync(Tokenizer.EncodePrompt(prompt), options, cancellationToken).ConfigureAwait(false)) yield return token;
    }

    /// <summary>Generates a response to prompt token ids, used as given (nothing is prepended), e.g. a rendered chat template.</summary>
    /// <exception cref="ArgumentException">Empty prompt, an id outside the vocabulary, or a prompt that fills the model's whole context.</exception>
    public Task<GenerationResult> GenerateAsync(IReadOnlyList<int> promptIds, GenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        var (ids, checkedOptions) = Engine.Check(promptIds, options);
        return Engine.Submit(() => Engine.Run(ids, checkedOptions, Exits, Tokenizer, null, null, cancellationToken), cancellationToken);
    }

    /// <summary>Streams the response to prompt token ids, used as given; leaving the loop early ends the job within one step.</summary>
    /// <exception cref="ArgumentException">Empty prompt, an id outside the vocabulary, or a prompt that fills the model's whole context.</exception>
    public async IAsyncEnumerable<GeneratedToken> StreamAsync(
        IReadOnlyList<int> promptIds, GenerationOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var (ids, checkedOptions) = Engine.Check(promptIds, options);
        var tokens = Engine.Stream<GeneratedToken>((writer, stop) => Engine.Run(ids, checkedOptions, Exits, Tokenizer, null, token => writer.TryWrite(token), stop),
            cancellationToken);
        await foreach (var token in tokens.ConfigureAwait(false)) yield return token;
    }

    /// <summary>
    /// Generates from prompt token ids, reporting each token to <paramref name="onToken"/> (on the engine's worker
    /// thread), and waits for the result.
    /// </summary>
    /// <exception cref="ArgumentException">Empty prompt, or a prompt that fills the model's whole context.</exception>
    /// <exception cref="OperationCanceledException">Cancelled between steps.</exception>
    public GenerationResult Generate(IReadOnlyList<int> promptIds, GenerationOptions? options = null,
        Action<GeneratedToken>? onToken = null, CancellationToken cancellationToken = default)
    {
        var (ids, checkedOptions) = Engine.Check(promptIds, options);
        return Engine.Submit(() => Engine.Run(ids, checkedOptions, Exits, Tokenizer, null, onToken, cancellationToken), cancellationToken)
            .GetAwaiter().GetResult();
    }

    /// <summary>
    /// Prefills <paramref name="prefix"/> (BOS first when the model has one) once and pins it in the engine's prefix
    /// cache until the result is disposed; prompts <c>pinned.Then(Tokenizer.Encode(rest))</c> prefill only the rest.
    /// </summary>
    /// <exception cref="InvalidOperationException">The engine's prefix cache is off.</exception>
    public Task<PinnedPrefix> PinPrefixAsync(string prefix, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        return Engine.PinPrefixAsync(Tokenizer.EncodePrompt(prefix), cancellationToken);
    }

    /// <summary>Frees the engine when the generator built it.</summary>
    public void Dispose()
    {
        if (_ownsEngine) Engine.Dispose();
    }
}
