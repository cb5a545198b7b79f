using System.Globalization;
using System.Text;
using TimeBill.Templates.Evaluation;
using TimeBill.Templates.Python;

namespace TimeBill.Templates.Values;

/// <summary>Python's <c>str()</c> (what <c>{{ }}</c> prints) and <c>repr()</c> (how containers print their items).</summary>
internal static class Printing
{
    public static string Str(object? value) => value switch
    {
        string s => s,
        Markup m => m.Text,
        Undefined => "",
        _ => Repr(value),
    };

    public static string Repr(object? value)
    {
        var sb = new StringBuilder();
        AppendRepr(sb, value);
        return sb.ToString();
    }

    private static void AppendRepr(StringBuilder sb, object? value)
    {
        switch (value)
        {
            case null: sb.Append("None"); break;
            case bool b: sb.Append(b ? "True" : "False"); break;
            case long n: sb.Append(n.ToString(CultureInfo.InvariantCulture)); break;
            case double d: sb.Append(PyFloat.Repr(d)); break;
            case string s: sb.Append(PyString.Repr(s)); break;
            case Markup m: sb.Append("Markup(").Append(PyString.Repr(m.Text)).Append(')'); break;
            case Undefined: sb.Append("Undefined"); break;
            case ListValue { Kind: SequenceKind.Range } r: sb.Append(r.RangeRepr); break;
            case ListValue l: AppendSequence(sb, l); break;
            case DictValue d: AppendDict(sb, d.Pairs); break;
            case Namespace ns:
                sb.Append("<Namespace ");
                AppendDict(sb, ns.Attributes.Select(p => new KeyValuePair<object?, object?>(p.Key, p.Value)));
                sb.Append('>');
                break;
            case LoopContext loop: sb.Append($"<LoopContext {loop.Index0 + 1}/{loop.Length}>"); break;
            default: throw new RenderError($"a {TypeNames.Of(value)} cannot be printed.");
        }
    }

    private static void AppendSequence(StringBuilder sb, ListValue list)
    {
        (string open, string close) = list.Kind switch
        {
            SequenceKind.Tuple => ("(", list.Count == 1 ? ",)" : ")"),
            SequenceKind.DictKeys => ("dict_keys([", "])"),
            SequenceKind.DictValues => ("dict_values([", "])"),
            SequenceKind.DictItems => ("dict_items([", "])"),
            _ => ("[", "]"),
        };
        sb.Append(open);
        for (int i = 0; i < list.Count; i++)
        {
            if (i > 0) sb.Append(", ");
            AppendRepr(sb, list.Items[i]);
        }
        sb.Append(close);
    }

    private static void AppendDict(StringBuilder sb, IEnumerable<KeyValuePair<object?, object?>> pairs)
    {
        sb.Append('{');
        bool first = true;
        foreach (var (key, value) in pairs)
        {
            if (!first) sb.Append(", ");
            first = false;
            AppendRepr(sb, key);
            sb.Append(": ");
            AppendRepr(sb, value);
        }
        sb.Append('}');
    }
}
