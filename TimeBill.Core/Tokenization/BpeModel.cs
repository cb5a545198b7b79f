using System.Text;

namespace TimeBill.Core.Tokenization;

/// <summary>Options of a BPE model as tokenizer.json gives them.</summary>
/// <param name="UnknownToken">Token for symbols missing from the vocabulary; without one they are dropped.</param>
/// <param name="FuseUnknown">Whether consecutive unknown symbols become one unknown token.</param>
/// <param name="ByteFallback">Whether unknown symbols become their UTF-8 bytes as <c>&lt;0xXX&gt;</c> tokens first.</param>
/// <param name="ContinuingSubwordPrefix">Prefix of every symbol but a word's first.</param>
/// <param name="EndOfWordSuffix">Suffix of a word's last symbol.</param>
/// <param name="IgnoreMerges">Whether a word that is itself a vocabulary entry becomes that one token without merging.</param>
internal sealed record BpeOptions(string? UnknownToken = null, bool FuseUnknown = false, bool ByteFallback = false,
    string? ContinuingSubwordPrefix = null, string? EndOfWordSuffix = null, bool IgnoreMerges = false);

/// <summary>
/// The BPE model of Hugging Face tokenizers: a word's symbols merge pair by pair, always the pair of lowest merge rank
/// (the leftmost among equals), until no ranked pair is left. Merges are keyed by the two ids they join.
/// </summary>
internal sealed class BpeModel
{
    private readonly Dictionary<string, int> _vocabulary;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly Dictionary<long, (int Rank, int Id)> _merges;
    private readonly BpeOptions _options;
    private readonly int _unknownId = -1;
    private readonly bool _plainSymbols;
    private readonly int[] _byteLevelSymbolIds = new int[ByteLevelAlphabet.CharLimit];

    [ThreadStatic] private static Scratch? t_scratch;

    /// <summary>Builds the model; <paramref name="merges"/> are the (left, right) id pairs in rank order.</summary>
    /// <exception cref="ArgumentException">A merge makes a string missing from the vocabulary, or the unknown token is missing (the message says which).</exception>
    public BpeModel(Dictionary<string, int> vocabulary, IReadOnlyList<(int Left, int Right)> merges, BpeOptions options)
    {
        _vocabulary = vocabulary;
        _lookup = vocabulary.GetAlternateLookup<ReadOnlySpan<char>>();
        _options = options;
        if (options.UnknownToken is { } unknown && !vocabulary.TryGetValue(unknown, out _unknownId))
            throw new ArgumentException($"unk_token '{unknown}' is not in the vocabulary.");
        _plainSymbols = string.IsNullOrEmpty(options.ContinuingSubwordPrefix) && string.IsNullOrEmpty(options.EndOfWordSuffix);
        for (int c = 0; c < _byteLevelSymbolIds.Length; c++)
            _byteLevelSymbolIds[c] = vocabulary.TryGetValue(((char)c).ToString(), out int id) ? id : -1;

        var tokens = new string[vocabulary.Count == 0 ? 0 : vocabulary.Values.Max() + 1];
        foreach (var (token, id) in vocabulary) tokens[id] = token;
        int prefixLength = options.ContinuingSubwordPrefix?.Length ?? 0;
        _merges = new Dictionary<long, (int, int)>(merges.Count, PairComparer.Instance);
        var buffer = new char[256];
        for (int rank = 0; rank < merges.Count; rank++)
        {
            var (left, right) = merges[rank];
            ReadOnlySpan<char> rightPart = tokens[right].AsSpan(Math.Min(prefixLength, tokens[right].Length));
            int length = tokens[left].Length + rightPart.Length;
            if (buffer.Length < length) buffer = new char[length * 2];
            tokens[left].CopyTo(buffer);
            rightPart.CopyTo(buffer.AsSpan(tokens[left].Length));
            if (!_lookup.TryGetValue(buffer.AsSpan(0, length), out int merged))
                throw new ArgumentException($"merge {rank} ('{tokens[left]} {tokens[right]}') makes '{new string(buffer, 0, length)}', which is not in the vocabulary.");
            // A repeated pair keeps its last rank, as tokenizers' map does.
            _merges[Pair(left, right)] = (rank, merged);
        }
    }

    /// <summary>The id of a vocabulary string.</summary>
    public bool TryGetId(ReadOnlySpan<char> token, out int id) => _lookup.TryGetValue(token, out id);

    /// <summary>Appends the ids of one word (a pre-token in the byte-level alphabet).</summary>
    public void Encode(ReadOnlySpan<char> word, List<int> ids)
    {
        if (word.IsEmpty) return;
        if (_options.IgnoreMerges && _lookup.TryGetValue(word, out int whole))
        {
            ids.Add(whole);
            return;
        }
        var scratch = t_scratch ??= new Scratch();
        int count = InitialSymbols(word, scratch);
        MergeAll(scratch, count);
        for (int i = 0; i >= 0 && count > 0; i = scratch.Next[i]) ids.Add(scratch.Ids[i]);
    }

    /// <summary>Fills the scratch with one symbol per character (unknown ones fused, byte-fallen-back or dropped).</summary>
    private int InitialSymbols(ReadOnlySpan<char> word, Scratch scratch)
    {
        scratch.Ensure(word.Length);
        int count = 0, pendingUnknown = -1;
        for (int i = 0; i < word.Length; i++)
        {
            int id = SymbolId(word, i);
            if (id >= 0)
            {
                if (pendingUnknown >= 0) { Add(scratch, ref count, pendingUnknown); pendingUnknown = -1; }
                Add(scratch, ref count, id);
                continue;
            }
            if (_options.ByteFallback && TryAddByteFallback(SymbolText(word, i), scratch, ref count)) continue;
            if (_unknownId < 0) continue;
            if (pendingUnknown >= 0 && !_options.FuseUnknown) Add(scratch, ref count, pendingUnknown);
            pendingUnknown = _unknownId;
        }
        if (pendingUnknown >= 0) Add(scratch, ref count, pendingUnknown);
        for (int i = 0; i < count; i++)
        {
            scratch.Prev[i] = i - 1;
            scratch.Next[i] = i + 1 < count ? i + 1 : -1;
        }
        return count;
    }

    private int SymbolId(ReadOnlySpan<char> word, int i)
    {
        char c = word[i];
        if (_plainSymbols) return c < _byteLevelSymbolIds.Length ? _byteLevelSymbolIds[c] : _lookup.TryGetValue(word.Slice(i, 1), out int plain) ? plain : -1;
        return _vocabulary.TryGetValue(SymbolText(word, i), out int id) ? id : -1;
    }

    private string SymbolText(ReadOnlySpan<char> word, int i) =>
        string.Concat(i > 0 ? _options.ContinuingSubwordPrefix : null, word[i].ToString(), i == word.Length - 1 ? _options.EndOfWordSuffix : null);

    private bool TryAddByteFallback(string symbol, Scratch scratch, ref int count)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(symbol);
        int length = bytes.Length;
        var byteIds = new int[length];
        for (int b = 0; b < length; b++)
            if (!_vocabulary.TryGetValue($"<0x{bytes[b]:X2}>", out byteIds[b])) return false;
        foreach (int id in byteIds) Add(scratch, ref count, id);
        return true;
    }

    private static void Add(Scratch scratch, ref int count, int id)
    {
        scratch.Ensure(count + 1);
        scratch.Ids[count++] = id;
    }

    private void MergeAll(Scratch scratch, int count)
    {
        var queue = scratch.Queue;
        queue.Clear();
        for (int i = 0; i + 1 < count; i++)
            if (_merges.TryGetValue(Pair(scratch.Ids[i], scratch.Ids[i + 1]), out var merge))
                queue.Enqueue((i, merge.Id), Priority(merge.Rank, i));
        int[] ids = scratch.Ids, prev = scratch.Prev, next = scratch.Next;
        while (queue.TryDequeue(out var top, out _))
        {
            int at = top.Position, right = next[at];
            // Entries go stale when a neighbour merged first: the symbol is gone, or the pair now makes something else.
            if (ids[at] < 0 || right < 0) continue;
            if (!_merges.TryGetValue(Pair(ids[at], ids[right]), out var current) || current.Id != top.Id) continue;
            ids[at] = top.Id;
            ids[right] = -1;
            next[at] = next[right];
            if (next[at] >= 0) prev[next[at]] = at;
            if (prev[at] >= 0 && _merges.TryGetValue(Pair(ids[prev[at]], ids[at]), out var left))
                queue.Enqueue((prev[at], left.Id), Priority(left.Rank, prev[at]));
            if (next[at] >= 0 && _merges.TryGetValue(Pair(ids[at], ids[next[at]]), out var following))
                queue.Enqueue((at, following.Id), Priority(following.Rank, at));
        }
    }

    private static long Pair(int left, int right) => (long)left << 32 | (uint)right;

    /// <summary>Hashes a pair by multiplying it out: <see cref="long.GetHashCode"/> XORs the halves, so (a, b) and (b, a) would collide.</summary>
    private sealed class PairComparer : IEqualityComparer<long>
    {
        public static readonly PairComparer Instance = new();

        public bool Equals(long x, long y) => x == y;

        public int GetHashCode(long pair) => (int)((ulong)pair * 0x9E3779B97F4A7C15UL >> 32);
    }

    private static long Priority(int rank, int position) => (long)rank << 32 | (uint)position;

    private sealed class Scratch
    {
        public int[] Ids = [], Prev = [], Next = [];
        public readonly PriorityQueue<(int Position, int Id), long> Queue = new();

        public void Ensure(int length)
        {
            if (Ids.Length >= length) return;
            int size = Math.Max(length, Ids.Length * 2);
            Array.Resize(ref Ids, size);
            Prev = new int[size];
            Next = new int[size];
        }
    }
}
