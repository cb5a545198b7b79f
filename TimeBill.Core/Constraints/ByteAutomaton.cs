namespace TimeBill.Core.Constraints;

/// <summary>
/// A deterministic automaton over UTF-8 bytes: the character-level form of an <see cref="OutputConstraint"/>. States
/// are 0..<see cref="StateCount"/>−1, <see cref="Start"/> is 0, and every state can still reach acceptance (dead
/// states are removed, so a missing transition is the only way to fail).
/// </summary>
internal sealed class ByteAutomaton
{
    private readonly int[] _next; // [state * 256 + byte] → state, −1 for none
    private readonly bool[] _accepting;

    internal ByteAutomaton(int[] next, bool[] accepting)
    {
        _next = next;
        _accepting = accepting;
    }

    /// <summary>The state before any byte.</summary>
    public int Start => 0;

    /// <summary>How many states there are.</summary>
    public int StateCount => _accepting.Length;

    /// <summary>The state after <paramref name="value"/> from <paramref name="state"/>, or −1 when the byte is not allowed there.</summary>
    public int Next(int state, byte value) => _next[state * 256 + value];

    /// <summary>The state after <paramref name="bytes"/> from <paramref name="state"/>, or −1 when they leave the language.</summary>
    public int Next(int state, ReadOnlySpan<byte> bytes)
    {
        foreach (byte b in bytes)
        {
            state = _next[state * 256 + b];
            if (state < 0) return -1;
        }
        return state;
    }

    /// <summary>Whether the text read so far is a complete answer.</summary>
    public bool IsAccepting(int state) => _accepting[state];

    /// <summary>Whether the whole of <paramref name="bytes"/> is a complete answer.</summary>
    public bool Accepts(ReadOnlySpan<byte> bytes) => Next(Start, bytes) is int s and >= 0 && _accepting[s];

    /// <summary>Whether <paramref name="state"/> can read more bytes.</summary>
    public bool HasTransitions(int state) => _next.AsSpan(state * 256, 256).ContainsAnyExcept(-1);
}
