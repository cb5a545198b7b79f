using System.Globalization;
using System.Text;
using TimeBill.Templates.Evaluation;
using TimeBill.Templates.Values;

namespace TimeBill.Templates.Python;

/// <summary>
/// Python's string formatting, the common part: <c>str.format</c> with <c>{}</c>, <c>{0}</c>, <c>{name}</c>, <c>!r</c>/<c>!s</c>
/// and a format spec <c>[[fill]align][sign][0][width][,][.precision][type]</c>; and <c>%</c> formatting with
/// <c>%s %r %d %i %f %x %o %%</c>. Anything else fails naming what is not supported.
/// </summary>
internal static class PyFormat
{
    /// <summary><c>format.format(*positional, **named)</c>.</summary>
    public static string Format(string format, IReadOnlyList<object?> positional, IReadOnlyDictionary<string, object?> named)
    {
        var sb = new StringBuilder();
        int auto = 0;
        for (int i = 0; i < format.Length; i++)
        {
            char c = format[i];
            if (c == '}')
            {
                if (i + 1 < format.Length && format[i + 1] == '}') { sb.Append('}'); i++; continue; }
                throw new RenderError("single '}' encountered in format string");
            }
            if (c != '{') { sb.Append(c); continue; }
            if (i + 1 < format.Length && format[i + 1] == '{') { sb.Append('{'); i++; continue; }
            int close = format.IndexOf('}', i);
            if (close < 0) throw new RenderError("single '{' encountered in format string");
            string field = format[(i + 1)..close];
            i = close;
            string spec = "";
            int colon = field.IndexOf(':');
            if (colon >= 0) (field, spec) = (field[..colon], field[(colon + 1)..]);
            char conversion = '\0';
            int bang = field.IndexOf('!');
            if (bang >= 0)
            {
                if (field.Length != bang + 2 || field[bang + 1] is not ('r' or 's')) throw new RenderError($"unsupported conversion in format field '{{{field}}}'");
                conversion = field[bang + 1];
                field = field[..bang];
            }
            object? value;
            if (field.Length == 0) value = Positional(positional, auto++);
            else if (int.TryParse(field, NumberStyles.None, CultureInfo.InvariantCulture, out int index)) value = Positional(positional, index);
            else if (named.TryGetValue(field, out var v)) value = v;
            else throw new RenderError(field.Contains('.') || field.Contains('[')
                ? $"format field '{{{field}}}': attribute and item lookups in format fields are not supported"
                : $"format field '{{{field}}}' has no argument");
            if (conversion == 'r') value = Printing.Repr(value);
            else if (conversion == 's') value = Printing.Str(value);
            sb.Append(FormatValue(value, spec));
        }
        return sb.ToString();
    }

    private static object? Positional(IReadOnlyList<object?> positional, int index) =>
        index < positional.Count ? positional[index] : throw new RenderError($"format field {index}: there are only {positional.Count} positional argument(s)");

    /// <summary>Python's <c>format(value, spec)</c>.</summary>
    public static string FormatValue(object? value, string spec)
    {
        if (value is Undefined u) throw u.Fail();
        if (spec.Length == 0) return Printing.Str(value);
        int i = 0;
        char fill = ' ', align = '\0';
        if (spec.Length >= 2 && spec[1] is '<' or '>' or '^' or '=') { fill = spec[0]; align = spec[1]; i = 2; }
        else if (spec[0] is '<' or '>' or '^' or '=') { align = spec[0]; i = 1; }
        char sign = '-';
        if (i < spec.Length && spec[i] is '+' or '-' or ' ') sign = spec[i++];
        if (i < spec.Length && spec[i] == '0' && align == '\0') { fill = '0'; align = '='; i++; }
        int width = 0;
        while (i < spec.Length && char.IsAsciiDigit(spec[i])) width = width * 10 + (spec[i++] - '0');
        bool grouping = i < spec.Length && spec[i] == ',';
        if (grouping) i++;
        int? precision = null;
        if (i < spec.Length && spec[i] == '.')
        {
            i++;
            int p = 0, start = i;
            while (i < spec.Length && char.IsAsciiDigit(spec[i])) p = p * 10 + (spec[i++] - '0');
            if (i == start) throw new RenderError($"format spec '{spec}': precision digits missing");
            precision = p;
        }
        char type = i < spec.Length ? spec[i++] : '\0';
        if (i != spec.Length) throw new RenderError($"format spec '{spec}' is not supported");

        string body;
        bool negative = false;
        switch (value)
        {
            case string or Markup when type is '\0' or 's':
                body = Printing.Str(value);
                if (precision is int cut) body = PyString.Slice(body, Enumerable.Range(0, Math.Min(cut, PyString.Length(body))));
                return Pad(body, width, fill, align == '\0' ? '<' : align, "");
            case bool or long when type is '\0' or 'd' or 'x' or 'X' or 'o' or 'b' && precision is null:
                long n = Numbers.AsInt(value)!.Value;
                negative = n < 0;
                ulong magnitude = negative ? (ulong)(-(n + 1)) + 1 : (ulong)n;
                body = type switch
                {
                    'x' => magnitude.ToString("x", CultureInfo.InvariantCulture),
                    'X' => magnitude.ToString("X", CultureInfo.InvariantCulture),
                    'o' => Convert.ToString((long)magnitude, 8),
                    'b' => Convert.ToString((long)magnitude, 2),
                    _ => grouping ? magnitude.ToString("#,0", CultureInfo.InvariantCulture) : magnitude.ToString(CultureInfo.InvariantCulture),
                };
                break;
            case bool or long or double when type is 'f' or 'F' or '%' or 'e' or 'E' || (type == '\0' && value is double):
                double d = Numbers.ToDouble(value);
                negative = double.IsNegative(d);
                d = Math.Abs(d);
                if (type == '%') d *= 100;
                body = type switch
                {
                    '\0' when precision is null => PyFloat.Repr(d),
                    '\0' => throw new RenderError($"format spec '{spec}': a precision without a type is not supported for floats"),
                    'e' or 'E' => Exponent(d, precision ?? 6, type),
                    _ => double.IsFinite(d) ? d.ToString((grouping ? "#,0." : "0.") + new string('0', precision ?? 6), CultureInfo.InvariantCulture).TrimEnd('.')
                        : PyFloat.Repr(d),
                };
                if (type == 'F') body = body.ToUpperInvariant();
                if (type == '%') body += "%";
                break;
            default:
                throw new RenderError($"format spec '{spec}' is not supported for a value of type '{TypeNames.Of(value)}'");
        }
        string signText = negative ? "-" : sign switch { '+' => "+", ' ' => " ", _ => "" };
        return Pad(body, width, fill, align == '\0' ? '>' : align, signText);
    }

    private static string Exponent(double d, int precision, char type)
    {
        string s = d.ToString((precision > 0 ? "0." + new string('0', precision) : "0") + "e+00", CultureInfo.InvariantCulture);
        return type == 'E' ? s.ToUpperInvariant() : s;
    }

    private static string Pad(string body, int width, char fill, char align, string sign)
    {
        int missing = width - PyString.Length(body) - sign.Length;
        if (missing <= 0) return sign + body;
        return align switch
        {
            '<' => sign + body + new string(fill, missing),
            '^' => new string(fill, missing / 2) + sign + body + new string(fill, missing - missing / 2),
            '=' => sign + new string(fill, missing) + body,
            _ => new string(fill, missing) + sign + body,
        };
    }

    /// <summary><c>format % args</c>: a tuple gives the positional values, a dict the <c>%(name)s</c> ones, anything else is the one value.</summary>
    public static string Percent(string format, object? args)
    {
        IReadOnlyList<object?> values = args is ListValue { Kind: SequenceKind.Tuple } t ? t.Items : [args];
        var sb = new StringBuilder();
        int next = 0;
        for (int i = 0; i < format.Length; i++)
        {
            if (format[i] != '%') { sb.Append(format[i]); continue; }
            if (++i >= format.Length) throw new RenderError("incomplete format");
            object? value;
            if (format[i] == '(')
            {
                int close = format.IndexOf(')', i);
                if (close < 0 || args is not DictValue d) throw new RenderError("format requires a mapping");
                string key = format[(i + 1)..close];
                value = d.TryGet(key, out var v) ? v : throw new RenderError($"format key '{key}' is missing");
                i = close + 1;
            }
            else if (format[i] == '%') { sb.Append('%'); continue; }
            else value = next < values.Count ? values[next++] : throw new RenderError("not enough arguments for format string");
            int specStart = i;
            while (i < format.Length && (format[i] is '-' or '+' or ' ' or '0' or '.' || char.IsAsciiDigit(format[i]))) i++;
            if (i >= format.Length) throw new RenderError("incomplete format");
            string flags = format[specStart..i];
            char type = format[i];
            sb.Append(PercentOne(value, flags, type));
        }
        if (args is not DictValue && next < values.Count) throw new RenderError("not all arguments converted during string formatting");
        return sb.ToString();
    }

    private static string PercentOne(object? value, string flags, char type)
    {
        bool left = flags.Contains('-');
        string widthAndPrecision = flags.TrimStart('-', '+', ' ', '0');
        string[] parts = widthAndPrecision.Split('.');
        string spec = (left ? "<" : "") + (flags.Contains('+') ? "+" : flags.Contains(' ') ? " " : "")
            + (!left && flags.TrimStart('-', '+', ' ').StartsWith('0') ? "0" : "") + parts[0] + (parts.Length > 1 ? "." + parts[1] : "");
        return type switch
        {
            's' => FormatValue(Printing.Str(value), spec),
            'r' => FormatValue(Printing.Repr(value), spec),
            'd' or 'i' or 'u' => FormatValue(value is double f ? (long)Math.Truncate(f) : value, spec),
            'f' or 'F' or 'x' or 'X' or 'o' or 'e' or 'E' => FormatValue(value, spec + type),
            _ => throw new RenderError($"unsupported format character '{type}'"),
        };
    }
}
