using TimeBill.Core.Generation;

namespace TimeBill.Core.Constraints;

/// <summary>
/// The logits processor that keeps a response inside an <see cref="OutputConstraint"/>: every token the current state
/// does not allow gets −∞; the end tokens are allowed only when the answer is complete, and then only they remain
/// once nothing can follow. With a token limit (<see cref="MaxTokens"/>, or <see cref="TokensLeft"/> set by a
/// deadline before each step) only tokens after which the answer can still be completed within the limit are
/// allowed; when the limit equals the tokens still needed, that leaves only tokens on a shortest path to a complete
/// answer (closing). Put it last in the chain. One instance serves one job at a time; after-step work allocates
/// nothing.
/// </summary>
internal sealed class ConstrainedDecoding : ILogitsProcessor
{
    private readonly int[] _endTokens;
    private float[] _scratch = [];
    private int _consumed;

    /// <summary>Constrains to <paramref name="automaton"/>; <paramref name="endTokenIds"/> end a response (the engine's stop tokens).</summary>
    /// <param name="automaton">The constraint over the model's vocabulary.</param>
    /// <param name="endTokenIds">The ids that end the response (e.g. <c>GenerationEngine.DefaultStopTokenIds</c>).</param>
    /// <param name="maxTokens">The response's token cap, so that the answer is closed in time for it; null for none.</param>
    /// <exception cref="ArgumentException">No end tokens, or a cap below 1.</exception>
    public ConstrainedDecoding(TokenLevelAutomaton automaton, IEnumerable<int> endTokenIds, int? maxTokens = null)
    {
        Automaton = automaton ?? throw new ArgumentNullException(nameof(automaton));
        ArgumentNullException.ThrowIfNull(endTokenIds);
        _endTokens = [.. endTokenIds.Distinct()];
        if (_endTokens.Length == 0) throw new ArgumentException("give at least one end token id: a complete answer must be able to end.", nameof(endTokenIds));
        if (maxTokens < 1) throw new ArgumentOutOfRangeException(nameof(maxTokens), maxTokens, "the token cap must be positive.");
        MaxTokens = maxTokens;
        State = automaton.Automaton.Start;
    }

    /// <summary>The constraint over the vocabulary.</summary>
    public TokenLevelAutomaton Automaton { get; }
    /// <summary>The response's token cap the answer is closed for; null for none.</summary>
    public int? MaxTokens { get; }
    /// <summary>The automaton state after the response's tokens so far.</summary>
    public int State { get; private set; }
    /// <summary>How many response tokens the state reflects.</summary>
    public int Consumed => _consumed;
    /// <summary>Whether the response so far is a complete answer.</summary>
    public bool IsComplete => Automaton.Automaton.IsAccepting(State);
    /// <summary>The fewest tokens that complete the answer from here (0 when it is complete).</summary>
    public int MinTokensToAccept => Automaton.MinTokensToAccept(State);

    /// <summary>
    /// How many more tokens, the next one included, may still be generated (a deadline's count of the steps that fit);
    /// null for no limit beyond <see cref="MaxTokens"/>. Reset clears it.
    /// </summary>
    public int? TokensLeft { get; set; }

    /// <summary>Whether the limit now leaves only tokens on a shortest path to a complete answer.</summary>
    public bool Closing => Limit() is int limit && limit <= MinTokensToAccept && MinTokensToAccept > 0;

    /// <summary>Whether closing was in force for any token of this response.</summary>
    public bool Closed { get; private set; }

    /// <inheritdoc />
    public void Reset(ReadOnlySpan<int> prompt)
    {
        State = Automaton.Automaton.Start;
        _consumed = 0;
        TokensLeft = null;
        Closed = false;
    }

    /// <summary>Moves the state past the response's next token <paramref name="token"/>.</summary>
    /// <exception cref="InvalidOperationException">The constraint does not allow the token here.</exception>
    public void Advance(int token)
    {
        int next = Automaton.Next(State, token);
        if (next < 0) throw new InvalidOperationException($"token {token} is not allowed by the constraint after {_consumed} tokens.");
        State = next;
        _consumed++;
    }

    /// <summary>
    /// Moves the state past the tokens of <paramref name="generated"/> (the whole response so far) it has not seen: after
    /// a job that ended on its token cap, the last token reached no <see cref="Process"/>, so call this with the
    /// result's ids before reading <see cref="IsComplete"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The constraint does not allow one of the tokens.</exception>
    public void Follow(IReadOnlyList<int> generated)
    {
        ArgumentNullException.ThrowIfNull(generated);
        while (_consumed < generated.Count) Advance(generated[_consumed]);
    }

    /// <inheritdoc />
    public void Process(Span<float> logits, ReadOnlySpan<int> generated)
    {
        while (_consumed < generated.Length) Advance(generated[_consumed]);
        int needed = MinTokensToAccept;
        // A token may lead only where the answer can still be completed within the limit; past all hope, the shortest way.
        int maxDistance = Limit() is int limit ? Math.Max(limit - 1, needed - 1) : TokenLevelAutomaton.Unreachable;
        if (Closing) Closed = true;
        var allowed = Automaton.AllowedTokens(State, maxDistance);
        if (_scratch.Length < allowed.Length + _endTokens.Length) _scratch = new float[Math.Max(allowed.Length, Automaton.MaxAllowedTokens) + _endTokens.Length];
        int kept = 0;
        foreach (int id in allowed) _scratch[kept++] = id < logits.Length ? logits[id] : float.NegativeInfinity;
        bool ending = IsComplete;
        if (ending) foreach (int id in _endTokens) _scratch[kept++] = id < logits.Length ? logits[id] : float.NegativeInfinity;
        logits.Fill(float.NegativeInfinity);
        kept = 0;
        foreach (int id in allowed) { if (id < logits.Length) logits[id] = _scratch[kept]; kept++; }
        if (ending) foreach (int id in _endTokens) { if (id < logits.Length) logits[id] = _scratch[kept]; kept++; }
        // An end token that is also an ordinary token (a stop id of the caller's) must not end an unfinished answer.
        else foreach (int id in _endTokens) if (id < logits.Length) logits[id] = float.NegativeInfinity;
    }

    private int? Limit() => (TokensLeft, MaxTokens) switch
    {
        (int left, int cap) => Math.Min(left, cap - _consumed),
        (int left, null) => left,
        (null, int cap) => cap - _consumed,
        _ => null,
    };
}
