using TimeBill.Templates.Evaluation;

namespace TimeBill.Templates.Values;

/// <summary>Python's <c>in</c>: a substring of a string, an item of a list, a key of a dict; undefined contains nothing.</summary>
internal static class Membership
{
    public static bool Contains(object? container, object? item)
    {
        switch (container)
        {
            case string or Markup:
                if (item is not (string or Markup)) throw new RenderError($"'in <string>' requires string as left operand, not {TypeNames.Of(item)}");
                return Printing.Str(container).Contains(Printing.Str(item), StringComparison.Ordinal);
            case DictValue d:
                Equality.RequireHashable(item);
                return d.ContainsKey(item);
            case ListValue or GeneratorValue or Undefined:
                return Iteration.Iterate(container).Any(x => Equality.Equal(x, item));
            default:
                throw new RenderError($"argument of type '{TypeNames.Of(container)}' is not iterable");
        }
    }
}
