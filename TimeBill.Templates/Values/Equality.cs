using TimeBill.Templates.Evaluation;

namespace TimeBill.Templates.Values;

/// <summary>Python's <c>==</c> and <c>hash()</c>: numbers compare by value across bool/int/float, containers by content.</summary>
internal static class Equality
{
    public static bool Equal(object? a, object? b)
    {
        if (Numbers.IsNumber(a) && Numbers.IsNumber(b)) return Numbers.Equal(a!, b!);
        return (a, b) switch
        {
            (null, null) => true,
            (string or Markup, string or Markup) => Text(a!) == Text(b!),
            (Undefined, Undefined) => true,
            (ListValue x, ListValue y) => x.Kind == y.Kind && x.Count == y.Count && x.Items.Zip(y.Items).All(p => Equal(p.First, p.Second)),
            (DictValue x, DictValue y) => x.Count == y.Count && x.Pairs.All(p => y.TryGet(p.Key, out var v) && Equal(p.Value, v)),
            _ => ReferenceEquals(a, b),
        };
    }

    private static string Text(object s) => s is Markup m ? m.Text : (string)s;

    /// <summary>Fails as Python does when <paramref name="key"/> cannot be a dict key (a list, a dict).</summary>
    public static void RequireHashable(object? key) => Hash(key);

    /// <summary>A hash consistent with <see cref="Equal"/> for Python's hashable values.</summary>
    public static int Hash(object? key) => key switch
    {
        null => 0,
        bool b => b ? 1 : 0,
        long n => n.GetHashCode(),
        double d => Math.Floor(d) == d && Math.Abs(d) < 9.2e18 ? ((long)d).GetHashCode() : d.GetHashCode(),
        string s => StringComparer.Ordinal.GetHashCode(s),
        Markup m => StringComparer.Ordinal.GetHashCode(m.Text),
        ListValue { Kind: SequenceKind.Tuple } t => t.Items.Aggregate(17, (h, item) => h * 31 + Hash(item)),
        ListValue or DictValue or Namespace => throw new RenderError($"unhashable type: '{TypeNames.Of(key)}'"),
        _ => key.GetHashCode(),
    };
}
