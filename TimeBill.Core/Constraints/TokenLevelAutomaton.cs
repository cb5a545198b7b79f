namespace TimeBill.Core.Constraints;

/// <summary>
/// A <see cref="ByteAutomaton"/> lifted to a vocabulary's tokens: per state, the tokens whose bytes it reads and the
/// state each ends in (found by walking the vocabulary's trie alongside the automaton), and the minimum number of
/// tokens that still reach acceptance, counted over this token graph (not over characters). Everything is computed
/// when it is built, for every state tokens can reach from the start, and is read-only after: one instance serves
/// any number of jobs and threads. Tokens that lead to a state from which no token sequence reaches acceptance are
/// not allowed.
/// </summary>
internal sealed class TokenLevelAutomaton
{
    /// <summary>The distance of a state that no tokens lead to acceptance from (or that tokens never reach).</summary>
    public const int Unreachable = int.MaxValue;

    private readonly StateTokens?[] _tokens;
    private readonly int[] _distance;

    /// <summary>Lifts <paramref name="automaton"/> to <paramref name="vocabulary"/>.</summary>
    /// <exception cref="ArgumentException">No token sequence of the vocabulary is a complete answer.</exception>
    public TokenLevelAutomaton(ByteAutomaton automaton, TokenVocabulary vocabulary)
    {
        Automaton = automaton ?? throw new ArgumentNullException(nameof(automaton));
        Vocabulary = vocabulary ?? throw new ArgumentNullException(nameof(vocabulary));
        int n = automaton.StateCount;

        // Every state tokens reach from the start, with its raw token moves.
        var moves = new (int[] Ids, int[] Targets)?[n];
        var queue = new Queue<int>([automaton.Start]);
        var ids = new List<int>();
        var targets = new List<int>();
        while (queue.Count > 0)
        {
            int state = queue.Dequeue();
            if (moves[state] is not null) continue;
            ids.Clear();
            targets.Clear();
            vocabulary.Trie.Walk(automaton, state, (id, target) => { ids.Add(id); targets.Add(target); });
            moves[state] = ([.. ids], [.. targets]);
            foreach (int t in targets) if (moves[t] is null) queue.Enqueue(t);
        }

        // Minimum tokens to acceptance: breadth-first from the accepting states along reversed token moves.
        var predecessors = new List<int>?[n];
        for (int s = 0; s < n; s++)
            if (moves[s] is { } m)
                foreach (int t in m.Targets.Distinct()) (predecessors[t] ??= []).Add(s);
        _distance = new int[n];
        Array.Fill(_distance, Unreachable);
        for (int s = 0; s < n; s++)
            if (moves[s] is not null && automaton.IsAccepting(s)) { _distance[s] = 0; queue.Enqueue(s); }
        while (queue.Count > 0)
        {
            int s = queue.Dequeue();
            foreach (int p in predecessors[s] ?? [])
                if (_distance[p] == Unreachable) { _distance[p] = _distance[s] + 1; queue.Enqueue(p); }
        }
        if (_distance[automaton.Start] == Unreachable)
            throw new ArgumentException("no sequence of this vocabulary's tokens is a complete answer of the constraint.", nameof(vocabulary));

        _tokens = new StateTokens?[n];
        for (int s = 0; s < n; s++)
        {
            if (moves[s] is not { } m || _distance[s] == Unreachable) continue;
            var order = Enumerable.Range(0, m.Ids.Length).Where(i => _distance[m.Targets[i]] != Unreachable)
                .OrderBy(i => _distance[m.Targets[i]]).ThenBy(i => m.Ids[i]).ToArray();
            _tokens[s] = new StateTokens([.. order.Select(i => m.Ids[i])], [.. order.Select(i => m.Targets[i])], [.. order.Select(i => _distance[m.Targets[i]])]);
            ReachableStates++;
            MaxClosingTokens = Math.Max(MaxClosingTokens, _distance[s]);
            MaxAllowedTokens = Math.Max(MaxAllowedTokens, _tokens[s]!.Ids.Length);
        }
    }

    /// <summary>The character-level automaton.</summary>
    public ByteAutomaton Automaton { get; }
    /// <summary>The vocabulary.</summary>
    public TokenVocabulary Vocabulary { get; }
    /// <summary>How many states tokens reach (from which an answer can still be completed).</summary>
    public int ReachableStates { get; }
    /// <summary>The largest minimum number of tokens to acceptance over the reachable states: the longest closing the constraint can need.</summary>
    public int MaxClosingTokens { get; }
    /// <summary>The most tokens any one state allows.</summary>
    public int MaxAllowedTokens { get; }

    /// <summary>The minimum number of tokens from <paramref name="state"/> to a complete answer (0 when it is one), or <see cref="Unreachable"/>.</summary>
    public int MinTokensToAccept(int state) => (uint)state < (uint)_distance.Length ? _distance[state] : Unreachable;

    /// <summary>The state after <paramref name="token"/> from <paramref name="state"/>, or −1 when the token is not allowed there.</summary>
    public int Next(int state, int token)
    {
        var bytes = Vocabulary.Bytes(token);
        if (bytes.IsEmpty || state < 0) return -1;
        int next = Automaton.Next(state, bytes);
        return next >= 0 && _distance[next] != Unreachable ? next : -1;
    }

    /// <summary>How many tokens <paramref name="state"/> allows that keep a complete answer within <paramref name="maxDistance"/> more tokens.</summary>
    public int AllowedCount(int state, int maxDistance = Unreachable) => _tokens[state]?.CountWithin(maxDistance) ?? 0;

    /// <summary>
    /// The tokens <paramref name="state"/> allows after which a complete answer is at most <paramref name="maxDistance"/>
    /// tokens away, ordered by that distance, then by id.
    /// </summary>
    public ReadOnlySpan<int> AllowedTokens(int state, int maxDistance = Unreachable) =>
        _tokens[state] is { } t ? t.Ids.AsSpan(0, t.CountWithin(maxDistance)) : default;
}
