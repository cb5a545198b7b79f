using TimeBill.Templates.Evaluation;

namespace TimeBill.Templates.Values;

/// <summary>The <c>loop</c> variable of a <c>for</c>: position, neighbours, <c>cycle(...)</c> and <c>changed(...)</c>.</summary>
internal sealed class LoopContext(IReadOnlyList<object?> items)
{
    private static readonly object NothingYet = new();
    private object? _lastChanged = NothingYet;

    public int Index0 { get; set; }

    public int Length => items.Count;

    /// <summary>An attribute of <c>loop</c>; a name it does not have fails rather than printing nothing.</summary>
    public object? Get(string name) => name switch
    {
        "index" => (long)Index0 + 1,
        "index0" => (long)Index0,
        "revindex" => (long)(Length - Index0),
        "revindex0" => (long)(Length - Index0 - 1),
        "first" => Index0 == 0,
        "last" => Index0 == Length - 1,
        "length" => (long)Length,
        "depth" => 1L,
        "depth0" => 0L,
        "previtem" => Index0 > 0 ? items[Index0 - 1] : new Undefined("there is no previous item"),
        "nextitem" => Index0 < Length - 1 ? items[Index0 + 1] : new Undefined("there is no next item"),
        "cycle" or "changed" => new BoundMethod(this, name),
        _ => throw new RenderError($"the loop variable has no attribute '{name}' (it has index, index0, revindex, revindex0, first, last, length, depth, depth0, previtem, nextitem, cycle, changed)."),
    };

    /// <summary><c>loop.cycle(a, b, ...)</c>: the argument at the loop index, round robin.</summary>
    public object? Cycle(Arguments arguments)
    {
        if (arguments.Positional.Count == 0) throw new RenderError("loop.cycle() needs at least one value.");
        return arguments.Positional[Index0 % arguments.Positional.Count];
    }

    /// <summary><c>loop.changed(value)</c>: whether the value differs from the previous call's (true on the first call).</summary>
    public bool Changed(Arguments arguments)
    {
        object value = ListValue.Tuple([.. arguments.Positional]);
        if (!ReferenceEquals(_lastChanged, NothingYet) && Equality.Equal(_lastChanged, value)) return false;
        _lastChanged = value;
        return true;
    }
}
