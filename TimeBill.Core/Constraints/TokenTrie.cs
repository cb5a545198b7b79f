namespace TimeBill.Core.Constraints;

/// <summary>
/// The vocabulary's token byte strings in a trie (first-child / next-sibling arrays), so that the tokens allowed in an
/// automaton state are found by one walk that drops a whole subtree at the first byte the automaton refuses.
/// </summary>
internal sealed class TokenTrie
{
    private readonly int[] _firstChild, _nextSibling, _firstToken, _nextToken;
    private readonly byte[] _byte;

    /// <summary>Builds the trie of <paramref name="tokens"/> (id → bytes; empty or null: left out).</summary>
    public TokenTrie(IReadOnlyList<byte[]?> tokens)
    {
        var order = Enumerable.Range(0, tokens.Count).Where(id => tokens[id] is { Length: > 0 }).ToArray();
        Array.Sort(order, (a, b) => tokens[a].AsSpan().SequenceCompareTo(tokens[b]));
        List<int> firstChild = [-1], nextSibling = [-1], firstToken = [-1], lastChild = [-1];
        List<byte> edge = [0];
        _nextToken = new int[tokens.Count];
        Array.Fill(_nextToken, -1);
        var path = new List<int> { 0 }; // path[i]: the node after i bytes of the previous token
        byte[] previous = [];
        foreach (int id in order)
        {
            byte[] bytes = tokens[id]!;
            int common = bytes.AsSpan().CommonPrefixLength(previous);
            path.RemoveRange(common + 1, path.Count - common - 1);
            for (int i = common; i < bytes.Length; i++)
            {
                int parent = path[i], node = firstChild.Count;
                firstChild.Add(-1); nextSibling.Add(-1); firstToken.Add(-1); lastChild.Add(-1); edge.Add(bytes[i]);
                if (lastChild[parent] < 0) firstChild[parent] = node; else nextSibling[lastChild[parent]] = node;
                lastChild[parent] = node;
                path.Add(node);
            }
            int end = path[bytes.Length];
            _nextToken[id] = firstToken[end];
            firstToken[end] = id;
            previous = bytes;
        }
        (_firstChild, _nextSibling, _firstToken, _byte) = ([.. firstChild], [.. nextSibling], [.. firstToken], [.. edge]);
    }

    /// <summary>Nodes, the root included.</summary>
    public int NodeCount => _byte.Length;

    /// <summary>
    /// Every token whose bytes <paramref name="automaton"/> reads from <paramref name="state"/> without failing, with
    /// the state it ends in, passed to <paramref name="found"/>.
    /// </summary>
    public void Walk(ByteAutomaton automaton, int state, Action<int, int> found)
    {
        var stack = new Stack<(int Node, int State)>();
        for (int child = _firstChild[0]; child >= 0; child = _nextSibling[child])
            if (automaton.Next(state, _byte[child]) is int next and >= 0) stack.Push((child, next));
        while (stack.Count > 0)
        {
            var (node, at) = stack.Pop();
            for (int id = _firstToken[node]; id >= 0; id = _nextToken[id]) found(id, at);
            for (int child = _firstChild[node]; child >= 0; child = _nextSibling[child])
                if (automaton.Next(at, _byte[child]) is int next and >= 0) stack.Push((child, next));
        }
    }
}
