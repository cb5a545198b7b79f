namespace TimeBill.Core.Constraints;

/// <summary>
/// A nondeterministic byte automaton built piece by piece (Thompson style: each piece starts at a given state and
/// returns the state it ends in), turned into a <see cref="ByteAutomaton"/> by subset construction.
/// </summary>
internal sealed class ByteAutomatonBuilder(int maxStates = 200_000)
{
    private readonly List<List<int>> _epsilon = [];
    private readonly List<List<(byte Lo, byte Hi, int To)>> _edges = [];

    /// <summary>A new state.</summary>
    public int State()
    {
        if (_edges.Count >= maxStates)
            throw new ArgumentException($"the constraint needs more than {maxStates} automaton states; make it smaller (fewer array items, shallower nesting).");
        _epsilon.Add([]);
        _edges.Add([]);
        return _edges.Count - 1;
    }

    /// <summary>An empty move.</summary>
    public void Epsilon(int from, int to) => _epsilon[from].Add(to);

    /// <summary>A move on any byte in lo..hi.</summary>
    public void Range(int from, byte lo, byte hi, int to) => _edges[from].Add((lo, hi, to));

    /// <summary>A new state reached from <paramref name="from"/> on a byte in lo..hi.</summary>
    public int Range(int from, byte lo, byte hi)
    {
        int to = State();
        Range(from, lo, hi, to);
        return to;
    }

    /// <summary>The bytes of <paramref name="literal"/>, in order.</summary>
    public int Literal(int from, ReadOnlySpan<byte> literal)
    {
        foreach (byte b in literal) from = Range(from, b, b);
        return from;
    }

    /// <summary>Any one of the pieces.</summary>
    public int Either(int from, IEnumerable<Func<int, int>> pieces)
    {
        int end = State();
        foreach (var piece in pieces) Epsilon(piece(from), end);
        return end;
    }

    /// <summary>The piece, or nothing.</summary>
    public int Optional(int from, Func<int, int> piece)
    {
        int end = State();
        Epsilon(from, end);
        Epsilon(piece(from), end);
        return end;
    }

    /// <summary>The piece any number of times (zero included).</summary>
    public int Repeat(int from, Func<int, int> piece)
    {
        int loop = State();
        Epsilon(from, loop);
        Epsilon(piece(loop), loop);
        return loop;
    }

    /// <summary>
    /// One well-formed multi-byte UTF-8 character from <paramref name="from"/> to <paramref name="to"/>: no overlong
    /// forms, no surrogates, nothing past U+10FFFF.
    /// </summary>
    public void Utf8Character(int from, int to)
    {
        Utf8(from, to, [(0xC2, 0xDF)]);
        Utf8(from, to, [(0xE0, 0xE0), (0xA0, 0xBF)]);
        Utf8(from, to, [(0xE1, 0xEC), (0x80, 0xBF)]);
        Utf8(from, to, [(0xED, 0xED), (0x80, 0x9F)]);
        Utf8(from, to, [(0xEE, 0xEF), (0x80, 0xBF)]);
        Utf8(from, to, [(0xF0, 0xF0), (0x90, 0xBF), (0x80, 0xBF)]);
        Utf8(from, to, [(0xF1, 0xF3), (0x80, 0xBF), (0x80, 0xBF)]);
        Utf8(from, to, [(0xF4, 0xF4), (0x80, 0x8F), (0x80, 0xBF)]);
    }

    /// <summary>The given lead ranges, then continuation bytes up to the character's full length.</summary>
    private void Utf8(int from, int to, (byte Lo, byte Hi)[] leads)
    {
        int length = leads[0].Lo >= 0xF0 ? 4 : leads[0].Lo >= 0xE0 ? 3 : 2;
        int s = from;
        for (int i = 0; i < length; i++)
        {
            var (lo, hi) = i < leads.Length ? leads[i] : ((byte)0x80, (byte)0xBF);
            if (i == length - 1) Range(s, lo, hi, to);
            else s = Range(s, lo, hi);
        }
    }

    /// <summary>The deterministic automaton accepting what leads from <paramref name="start"/> to <paramref name="accept"/>.</summary>
    /// <exception cref="ArgumentException">Nothing is accepted, or it is too large.</exception>
    public ByteAutomaton Build(int start, int accept, int maxDeterministicStates = 100_000)
    {
        var sets = new List<int[]>();
        var index = new Dictionary<string, int>();
        var transitions = new List<int>();
        int Intern(int[] set)
        {
            string key = string.Join(',', set);
            if (index.TryGetValue(key, out int id)) return id;
            if (sets.Count >= maxDeterministicStates)
                throw new ArgumentException($"the constraint needs more than {maxDeterministicStates} deterministic states; make it smaller.");
            index[key] = sets.Count;
            sets.Add(set);
            return sets.Count - 1;
        }
        Intern(Closure([start]));
        var targets = new List<int>[256];
        for (int b = 0; b < 256; b++) targets[b] = [];
        for (int current = 0; current < sets.Count; current++)
        {
            foreach (var list in targets) list.Clear();
            foreach (int s in sets[current])
                foreach (var (lo, hi, to) in _edges[s])
                    for (int b = lo; b <= hi; b++) targets[b].Add(to);
            for (int b = 0; b < 256; b++)
                transitions.Add(targets[b].Count == 0 ? -1 : Intern(Closure(targets[b])));
        }
        var accepting = sets.Select(set => Array.BinarySearch(set, accept) >= 0).ToArray();
        return Prune(transitions.ToArray(), accepting);
    }

    private int[] Closure(IEnumerable<int> states)
    {
        var seen = new HashSet<int>();
        var stack = new Stack<int>(states);
        while (stack.Count > 0)
        {
            int s = stack.Pop();
            if (!seen.Add(s)) continue;
            foreach (int t in _epsilon[s]) stack.Push(t);
        }
        // Only states with byte moves (and the accepting end) tell sets apart.
        var set = seen.Where(s => _edges[s].Count > 0 || _epsilon[s].Count == 0).ToArray();
        Array.Sort(set);
        return set;
    }

    /// <summary>Drops states that cannot reach acceptance and renumbers the rest, the start staying 0.</summary>
    private static ByteAutomaton Prune(int[] next, bool[] accepting)
    {
        int n = accepting.Length;
        var predecessors = new List<int>[n];
        for (int s = 0; s < n; s++) predecessors[s] = [];
        for (int s = 0; s < n; s++)
            for (int b = 0; b < 256; b++)
                if (next[s * 256 + b] is int t and >= 0) predecessors[t].Add(s);
        var live = new bool[n];
        var stack = new Stack<int>(Enumerable.Range(0, n).Where(s => accepting[s]));
        while (stack.Count > 0)
        {
            int s = stack.Pop();
            if (live[s]) continue;
            live[s] = true;
            foreach (int p in predecessors[s]) if (!live[p]) stack.Push(p);
        }
        if (!live[0]) throw new ArgumentException("the constraint admits no answer at all.");
        var map = new int[n];
        int count = 0;
        for (int s = 0; s < n; s++) map[s] = live[s] ? count++ : -1;
        var pruned = new int[count * 256];
        var keep = new bool[count];
        for (int s = 0; s < n; s++)
        {
            if (!live[s]) continue;
            keep[map[s]] = accepting[s];
            for (int b = 0; b < 256; b++)
                pruned[map[s] * 256 + b] = next[s * 256 + b] is int t and >= 0 ? map[t] : -1;
        }
        return Minimize(pruned, keep);
    }

    /// <summary>
    /// Merges states no input tells apart (Moore's partition refinement: split classes by acceptance, then by the classes
    /// of their 256 successors, until nothing splits), so copies of one piece in equivalent places (an array's first and
    /// later items) become one state and later work per state is done once. The start stays 0.
    /// </summary>
    private static ByteAutomaton Minimize(int[] next, bool[] accepting)
    {
        int n = accepting.Length;
        var cls = accepting.Select(a => a ? 1 : 0).ToArray();
        int classes = cls.Distinct().Count();
        var comparer = new RowComparer();
        while (true)
        {
            var index = new Dictionary<int[], int>(comparer);
            var refined = new int[n];
            for (int s = 0; s < n; s++)
            {
                var row = new int[257];
                row[0] = cls[s];
                for (int b = 0; b < 256; b++) row[b + 1] = next[s * 256 + b] is int t and >= 0 ? cls[t] : -1;
                if (!index.TryGetValue(row, out int c)) index[row] = c = index.Count;
                refined[s] = c;
            }
            cls = refined;
            if (index.Count == classes) break;
            classes = index.Count;
        }
        // Renumber so that the start's class is 0 and classes keep the order of their first state.
        var map = new int[classes];
        Array.Fill(map, -1);
        int count = 0;
        for (int s = 0; s < n; s++) if (map[cls[s]] < 0) map[cls[s]] = count++;
        var merged = new int[count * 256];
        var accept = new bool[count];
        for (int s = 0; s < n; s++)
        {
            int c = map[cls[s]];
            accept[c] = accepting[s];
            for (int b = 0; b < 256; b++) merged[c * 256 + b] = next[s * 256 + b] is int t and >= 0 ? map[cls[t]] : -1;
        }
        return new ByteAutomaton(merged, accept);
    }

    private sealed class RowComparer : IEqualityComparer<int[]>
    {
        public bool Equals(int[]? x, int[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(int[] row)
        {
            var hash = new HashCode();
            hash.AddBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(row.AsSpan()));
            return hash.ToHashCode();
        }
    }
}
