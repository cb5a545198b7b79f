namespace TimeBill.Templates.Values;

/// <summary>A Python list, tuple, dict view or range: an ordered, immutable run of values.</summary>
internal sealed class ListValue(IReadOnlyList<object?> items, SequenceKind kind = SequenceKind.List)
{
    public IReadOnlyList<object?> Items { get; } = items;

    public SequenceKind Kind { get; } = kind;

    /// <summary>For a range: its arguments, as <c>repr</c> prints them.</summary>
    public string? RangeRepr { get; private init; }

    public int Count => Items.Count;

    public static ListValue Tuple(params object?[] items) => new(items, SequenceKind.Tuple);

    public static ListValue Range(long start, long stop, long step, IReadOnlyList<object?> items) =>
        new(items, SequenceKind.Range) { RangeRepr = step == 1 ? $"range({start}, {stop})" : $"range({start}, {stop}, {step})" };
}
