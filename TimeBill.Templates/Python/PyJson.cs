using System.Globalization;
using System.Text;
using TimeBill.Templates.Evaluation;
using TimeBill.Templates.Values;

namespace TimeBill.Templates.Python;

/// <summary>
/// Python's <c>json.dumps</c>: separators <c>", "</c> / <c>": "</c> (<c>","</c> between items when indenting), keys in
/// order (or sorted), floats as <c>repr</c> with <c>NaN</c>/<c>Infinity</c>, non-ASCII kept unless <c>ensure_ascii</c>.
/// </summary>
internal sealed class PyJson
{
    private readonly string? _indent;
    private readonly string _itemSeparator;
    private readonly string _keySeparator;
    private readonly bool _sortKeys;
    private readonly bool _ensureAscii;
    private readonly StringBuilder _sb = new();

    private PyJson(string? indent, (string Item, string Key)? separators, bool sortKeys, bool ensureAscii)
    {
        _indent = indent;
        (_itemSeparator, _keySeparator) = separators ?? (indent is null ? ", " : ",", ": ");
        _sortKeys = sortKeys;
        _ensureAscii = ensureAscii;
    }

    /// <param name="value">The value to write.</param>
    /// <param name="indent">Null for one line; otherwise the text each nesting level is indented by.</param>
    /// <param name="separators">Item and key separators; null for Python's defaults.</param>
    /// <param name="sortKeys">Sort each object's keys.</param>
    /// <param name="ensureAscii">Write non-ASCII characters as <c>\uXXXX</c>.</param>
    public static string Dumps(object? value, string? indent = null, (string Item, string Key)? separators = null, bool sortKeys = false, bool ensureAscii = false)
    {
        var writer = new PyJson(indent, separators, sortKeys, ensureAscii);
        writer.Write(value, 0);
        return writer._sb.ToString();
    }

    private void Write(object? value, int level)
    {
        switch (value)
        {
            case null: _sb.Append("null"); break;
            case bool b: _sb.Append(b ? "true" : "false"); break;
            case long n: _sb.Append(n.ToString(CultureInfo.InvariantCulture)); break;
            case double d: _sb.Append(Float(d)); break;
            case string s: WriteString(s); break;
            case Markup m: WriteString(m.Text); break;
            case ListValue { Kind: SequenceKind.List or SequenceKind.Tuple } l: WriteContainer('[', ']', l.Items, level, (item, lvl) => Write(item, lvl)); break;
            case DictValue d:
                var pairs = d.Pairs.ToList();
                if (_sortKeys) pairs = [.. pairs.OrderBy(p => p.Key, Comparer<object?>.Create(Ordering.SortCompare))];
                WriteContainer('{', '}', pairs, level, (pair, lvl) =>
                {
                    WriteString(Key(pair.Key));
                    _sb.Append(_keySeparator);
                    Write(pair.Value, lvl);
                });
                break;
            case Undefined u: throw u.Fail();
            default: throw new RenderError($"Object of type {TypeNames.Of(value)} is not JSON serializable");
        }
    }

    private void WriteContainer<T>(char open, char close, IReadOnlyList<T> items, int level, Action<T, int> writeItem)
    {
        _sb.Append(open);
        if (items.Count == 0)
        {
            _sb.Append(close);
            return;
        }
        for (int i = 0; i < items.Count; i++)
        {
            if (i > 0) _sb.Append(_itemSeparator);
            NewLine(level + 1);
            writeItem(items[i], level + 1);
        }
        NewLine(level);
        _sb.Append(close);
    }

    private void NewLine(int level)
    {
        if (_indent is null) return;
        _sb.Append('\n');
        for (int i = 0; i < level; i++) _sb.Append(_indent);
    }

    private static string Float(double d) =>
        double.IsNaN(d) ? "NaN" : double.IsPositiveInfinity(d) ? "Infinity" : double.IsNegativeInfinity(d) ? "-Infinity" : PyFloat.Repr(d);

    /// <summary>Object keys become strings as Python converts them; other key types fail.</summary>
    private static string Key(object? key) => key switch
    {
        string s => s,
        Markup m => m.Text,
        null => "null",
        bool b => b ? "true" : "false",
        long n => n.ToString(CultureInfo.InvariantCulture),
        double d => Float(d),
        _ => throw new RenderError($"keys must be str, int, float, bool or None, not {TypeNames.Of(key)}"),
    };

    private void WriteString(string s)
    {
        _sb.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': _sb.Append("\\\""); break;
                case '\\': _sb.Append("\\\\"); break;
                case '\n': _sb.Append("\\n"); break;
                case '\r': _sb.Append("\\r"); break;
                case '\t': _sb.Append("\\t"); break;
                case '\b': _sb.Append("\\b"); break;
                case '\f': _sb.Append("\\f"); break;
                default:
                    if (c < 0x20 || (_ensureAscii && c > 0x7e)) _sb.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
                    else _sb.Append(c);
                    break;
            }
        }
        _sb.Append('"');
    }
}
