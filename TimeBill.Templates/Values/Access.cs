using TimeBill.Templates.Builtins;
using TimeBill.Templates.Python;

namespace TimeBill.Templates.Values;

/// <summary>
/// Jinja's attribute and item lookup: <c>x.name</c> is the attribute (a method of the value's type), else the item
/// <c>x['name']</c>; <c>x[key]</c> is the item, else for a string key the attribute. What is missing is undefined.
/// </summary>
internal static class Access
{
    public static object? GetAttribute(object? target, string name)
    {
        switch (target)
        {
            case Undefined u: throw u.Fail();
            case LoopContext loop: return loop.Get(name);
            case Namespace ns: return ns.Attributes.TryGetValue(name, out var attribute) ? attribute : Undefined.Attribute(target, name);
        }
        if (Methods.Has(target, name)) return new BoundMethod(target, name);
        if (target is DictValue d && d.TryGet(name, out var item)) return item;
        return Undefined.Attribute(target, name);
    }

    public static object? GetItem(object? target, object? key)
    {
        switch (target)
        {
            case Undefined u: throw u.Fail();
            case DictValue d when IsHashable(key) && d.TryGet(key, out var value): return value;
            case ListValue { Kind: SequenceKind.List or SequenceKind.Tuple or SequenceKind.Range } l:
                if (key is SliceValue slice)
                    return new ListValue([.. slice.Indices(l.Count).Select(i => l.Items[i])], l.Kind == SequenceKind.Tuple ? SequenceKind.Tuple : SequenceKind.List);
                if (Numbers.AsInt(key) is long i && Index(i, l.Count) is int at) return l.Items[at];
                break;
            case string or Markup:
                string text = Printing.Str(target);
                if (key is SliceValue textSlice) return PyString.Slice(text, textSlice.Indices(PyString.Length(text)));
                if (Numbers.AsInt(key) is long c && Index(c, PyString.Length(text)) is int charAt) return PyString.CharAt(text, charAt);
                break;
        }
        return key is string name ? GetAttribute(target, name) : Undefined.Element(target, key);
    }

    private static int? Index(long i, int count)
    {
        if (i < 0) i += count;
        return i >= 0 && i < count ? (int)i : null;
    }

    private static bool IsHashable(object? key) => key is not (DictValue or ListValue { Kind: not SequenceKind.Tuple } or SliceValue);
}
