using System.Diagnostics.CodeAnalysis;

namespace TimeBill.Templates.Values;

/// <summary>A Python dict: insertion-ordered, keys equal as Python compares them (<c>1</c>, <c>1.0</c> and <c>True</c> are one key).</summary>
internal sealed class DictValue
{
    private static readonly object NoneKey = new();
    private readonly OrderedDictionary<object, object?> _items = new(KeyComparer.Instance);

    public int Count => _items.Count;

    public IEnumerable<object?> Keys => _items.Keys.Select(Unwrap);

    public IEnumerable<KeyValuePair<object?, object?>> Pairs => _items.Select(p => new KeyValuePair<object?, object?>(Unwrap(p.Key), p.Value));

    public IEnumerable<object?> Values => _items.Values;

    /// <summary>Sets <paramref name="key"/>, keeping its first position when it is already there.</summary>
    public void Set(object? key, object? value) => _items[Wrap(key)] = value;

    public bool TryGet(object? key, [MaybeNullWhen(false)] out object? value) => _items.TryGetValue(Wrap(key), out value);

    public bool ContainsKey(object? key) => _items.ContainsKey(Wrap(key));

    private static object Wrap(object? key) => key ?? NoneKey;

    private static object? Unwrap(object key) => ReferenceEquals(key, NoneKey) ? null : key;

    /// <summary>Python's hashing and equality for dict keys; an unhashable key (a list, a dict) fails.</summary>
    private sealed class KeyComparer : IEqualityComparer<object>
    {
        public static readonly KeyComparer Instance = new();

        public new bool Equals(object? x, object? y) => Equality.Equal(x, y);

        public int GetHashCode(object obj) => Equality.Hash(ReferenceEquals(obj, NoneKey) ? null : obj);
    }
}
