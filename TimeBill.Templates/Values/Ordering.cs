using TimeBill.Templates.Evaluation;
using TimeBill.Templates.Python;

namespace TimeBill.Templates.Values;

/// <summary>Python's <c>&lt; &lt;= &gt; &gt;=</c>: numbers, strings (by code point), and lists or tuples item by item; nothing else orders.</summary>
internal static class Ordering
{
    public static bool Compare(object? a, object? b, string op)
    {
        if (Numbers.IsNumber(a) && Numbers.IsNumber(b)) return Numbers.Compare(a!, b!, op);
        switch (a, b)
        {
            case (Undefined u, _): throw u.Fail();
            case (_, Undefined u): throw u.Fail();
            case (string or Markup, string or Markup):
                return Numbers.Holds(PyString.Compare(Printing.Str(a), Printing.Str(b)), op);
            case (ListValue x, ListValue y) when x.Kind == y.Kind && x.Kind is SequenceKind.List or SequenceKind.Tuple:
                for (int i = 0; i < Math.Min(x.Count, y.Count); i++)
                    if (!Equality.Equal(x.Items[i], y.Items[i])) return Compare(x.Items[i], y.Items[i], op);
                return Numbers.Holds(x.Count.CompareTo(y.Count), op);
        }
        throw new RenderError($"'{op}' not supported between instances of '{TypeNames.Of(a)}' and '{TypeNames.Of(b)}'");
    }

    /// <summary>A comparison for sorting (<c>sort</c>, <c>dictsort</c>): Python's <c>&lt;</c> both ways.</summary>
    public static int SortCompare(object? a, object? b) => Compare(a, b, "<") ? -1 : Compare(b, a, "<") ? 1 : 0;
}
