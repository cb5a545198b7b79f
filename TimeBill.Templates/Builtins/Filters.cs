using System.Globalization;
using System.Numerics;
using System.Text.RegularExpressions;
using TimeBill.Templates.Evaluation;
using TimeBill.Templates.Python;
using TimeBill.Templates.Values;

namespace TimeBill.Templates.Builtins;

/// <summary>
/// Jinja's filters (<c>value | name(args)</c>), with Jinja's argument names and meaning; <c>tojson</c> is transformers'
/// (plain <c>json.dumps</c>, no HTML escaping). Autoescaping is off, so filters return plain text except <c>safe</c>
/// and <c>escape</c>.
/// </summary>
internal static partial class Filters
{
    private delegate object? Filter(object? value, Arguments arguments);

    private static readonly Dictionary<string, Filter> All = new(StringComparer.Ordinal)
    {
        ["abs"] = (v, a) => NoArguments("abs", a, v) switch
        {
            long n => (object)checked(Math.Abs(n)),
            bool b => b ? 1L : 0L,
            double d => Math.Abs(d),
            _ => throw new RenderError($"bad operand type for abs(): '{TypeNames.Of(v)}'"),
        },
        ["capitalize"] = (v, a) => PyString.Capitalize(Text(NoArguments("capitalize", a, v))),
        ["center"] = (v, a) => PyString.Center(Text(v), (int)a.Bind("center", "width").Int(0, 80)),
        ["count"] = (v, a) => Iteration.Length(NoArguments("count", a, v)),
        ["default"] = Default,
        ["d"] = Default,
        ["dictsort"] = DictSort,
        ["escape"] = (v, a) => Escape(NoArguments("escape", a, v)),
        ["e"] = (v, a) => Escape(NoArguments("e", a, v)),
        ["first"] = (v, a) => Iteration.Iterate(NoArguments("first", a, v)).Take(1).ToList() is [var first] ? first : new Undefined("No first item, sequence was empty."),
        ["float"] = (v, a) => ToFloat(v) ?? a.Bind("float", "default").Get(0, 0.0),
        ["format"] = FormatFilter,
        ["indent"] = Indent,
        ["int"] = IntFilter,
        ["items"] = (v, a) => NoArguments("items", a, v) switch
        {
            Undefined => new GeneratorValue([]),
            DictValue d => new GeneratorValue(d.Pairs.Select(p => (object?)ListValue.Tuple(p.Key, p.Value))),
            _ => throw new RenderError("Can only get item pairs from a mapping."),
        },
        ["join"] = Join,
        ["last"] = Last,
        ["length"] = (v, a) => Iteration.Length(NoArguments("length", a, v)),
        ["list"] = (v, a) => new ListValue(Iteration.ToList(NoArguments("list", a, v))),
        ["lower"] = (v, a) => PyString.Lower(Text(NoArguments("lower", a, v))),
        ["map"] = Map,
        ["max"] = (v, a) => MinOrMax(v, a, "max"),
        ["min"] = (v, a) => MinOrMax(v, a, "min"),
        ["reject"] = (v, a) => SelectOrReject(v, a, select: false, byAttribute: false),
        ["rejectattr"] = (v, a) => SelectOrReject(v, a, select: false, byAttribute: true),
        ["replace"] = Replace,
        ["reverse"] = Reverse,
        ["round"] = Round,
        ["safe"] = (v, a) => NoArguments("safe", a, v) is Markup m ? m : new Markup(Printing.Str(v)),
        ["select"] = (v, a) => SelectOrReject(v, a, select: true, byAttribute: false),
        ["selectattr"] = (v, a) => SelectOrReject(v, a, select: true, byAttribute: true),
        ["sort"] = Sort,
        ["string"] = (v, a) => NoArguments("string", a, v) is Markup m ? m : Printing.Str(v),
        ["sum"] = Sum,
        ["title"] = (v, a) => JinjaTitle(Text(NoArguments("title", a, v))),
        ["tojson"] = ToJson,
        ["trim"] = (v, a) => PyString.Strip(Text(v), a.Bind("trim", "chars").String(0, null)),
        ["truncate"] = Truncate,
        ["unique"] = Unique,
        ["upper"] = (v, a) => PyString.Upper(Text(NoArguments("upper", a, v))),
        ["wordcount"] = (v, a) => (long)WordRegex().Count(Text(NoArguments("wordcount", a, v))),
    };

    public static bool Contains(string name) => All.ContainsKey(name);

    public static object? Apply(string name, object? value, Arguments arguments) =>
        All.TryGetValue(name, out var filter) ? filter(value, arguments) : throw new RenderError($"no filter named '{name}'");

    [GeneratedRegex(@"\w+")]
    private static partial Regex WordRegex();

    [GeneratedRegex(@"([-\s({\[<]+)")]
    private static partial Regex WordBeginningRegex();

    /// <summary>The value, after checking that the filter got no arguments.</summary>
    private static object? NoArguments(string name, Arguments arguments, object? value) =>
        arguments.Positional.Count + arguments.Keywords.Count == 0 ? value : throw new RenderError($"the filter '{name}' takes no arguments.");

    /// <summary>Jinja's <c>soft_str</c>: the value as text (undefined is empty).</summary>
    private static string Text(object? value) => Printing.Str(value);

    private static object? Default(object? value, Arguments a)
    {
        var b = a.Bind("default", "default_value", "boolean");
        return value is Undefined || (b.Bool(1, false) && !Truth.IsTrue(value)) ? b.Get(0, "") : value;
    }

    private static Markup Escape(object? value) => value as Markup ?? new Markup(MarkupSafe.Escape(Printing.Str(value)));

    private static ListValue DictSort(object? value, Arguments a)
    {
        var b = a.Bind("dictsort", "case_sensitive", "by", "reverse");
        if (value is not DictValue d) throw new RenderError($"dictsort needs a mapping, not '{TypeNames.Of(value)}'.");
        int position = b.String(1, "key") switch
        {
            "key" => 0,
            "value" => 1,
            _ => throw new RenderError("You can only sort by either \"key\" or \"value\""),
        };
        bool caseSensitive = b.Bool(0, false);
        var pairs = d.Pairs.Select(p => ListValue.Tuple(p.Key, p.Value)).ToList();
        return new ListValue(SortBy(pairs, p => CaseFold(p.Items[position], caseSensitive), b.Bool(2, false)));
    }

    /// <summary>A stable sort by <paramref name="key"/>, descending keeping equal items in order as Python's <c>sorted(reverse=True)</c>.</summary>
    private static List<object?> SortBy<T>(IEnumerable<T> items, Func<T, object?> key, bool reverse)
    {
        var keyed = items.Select(item => (Item: item, Key: key(item))).ToList();
        var comparer = Comparer<object?>.Create(Ordering.SortCompare);
        var sorted = reverse ? keyed.OrderByDescending(x => x.Key, comparer) : keyed.OrderBy(x => x.Key, comparer);
        return [.. sorted.Select(x => (object?)x.Item)];
    }

    /// <summary>Jinja's <c>ignore_case</c>: strings compare lower-cased unless case-sensitive.</summary>
    private static object? CaseFold(object? value, bool caseSensitive) =>
        !caseSensitive && value is string or Markup ? PyString.Lower(Printing.Str(value)) : value;

    /// <summary>An attribute path <c>"a.b.0"</c> looked up as Jinja's <c>make_attrgetter</c> does (items first, digits as indices).</summary>
    private static Func<object?, object?> AttributeGetter(object? attribute, object? fallback = null)
    {
        object?[] parts = attribute switch
        {
            null => [],
            string s => [.. s.Split('.').Select(p => p.Length > 0 && p.All(char.IsAsciiDigit) ? (object?)long.Parse(p, CultureInfo.InvariantCulture) : p)],
            _ => [attribute],
        };
        return item =>
        {
            foreach (object? part in parts)
            {
                item = Access.GetItem(item, part);
                if (fallback is not null && item is Undefined) item = fallback;
            }
            return item;
        };
    }

    private static object? FormatFilter(object? value, Arguments a)
    {
        if (a.Positional.Count > 0 && a.Keywords.Count > 0) throw new RenderError("can't handle positional and keyword arguments at the same time");
        object? args;
        if (a.Keywords.Count > 0)
        {
            var d = new DictValue();
            foreach (var (k, v) in a.Keywords) d.Set(k, v);
            args = d;
        }
        else args = new ListValue([.. a.Positional], SequenceKind.Tuple);
        return PyFormat.Percent(Text(value), args);
    }

    private static string Indent(object? value, Arguments a)
    {
        var b = a.Bind("indent", "width", "first", "blank");
        object? width = b.Get(0, 4L);
        string indentation = width is string or Markup ? Printing.Str(width) : new string(' ', (int)Math.Max(0, Coerce.ToInt(width, "indent() width")));
        var lines = PyString.SplitLines(Text(value) + "\n");
        string result;
        if (b.Bool(2, false)) result = string.Join("\n" + indentation, lines);
        else
        {
            result = lines[0];
            if (lines.Count > 1) result += "\n" + string.Join("\n", lines.Skip(1).Select(line => line.Length > 0 ? indentation + line : line));
        }
        return b.Bool(1, false) ? indentation + result : result;
    }

    private static object? IntFilter(object? value, Arguments a)
    {
        var b = a.Bind("int", "default", "base");
        object? fallback = b.Get(0, 0L);
        switch (value)
        {
            case Undefined u: throw u.Fail();
            case bool or long: return Numbers.AsInt(value);
            case double d: return double.IsFinite(d) ? checked((long)Math.Truncate(d)) : throw new RenderError($"cannot convert float {PyFloat.Repr(d)} to integer");
            case string or Markup:
                string s = Text(value);
                if (ParseInt(s, b.Int(1, 10)) is long n) return n;
                return ToFloat(s) is double f && double.IsFinite(f) ? checked((long)Math.Truncate(f)) : fallback;
            default: return fallback;
        }
    }

    /// <summary>Python's <c>int(text, base)</c>: white space around, a sign, underscores between digits, a prefix matching the base (any with base 0).</summary>
    private static long? ParseInt(string text, long numberBase)
    {
        string s = PyString.Strip(text, null).Replace("_", "");
        bool negative = s.StartsWith('-');
        if (s.StartsWith('-') || s.StartsWith('+')) s = s[1..];
        if (s.Length > 1 && s[0] == '0' && char.ToLowerInvariant(s[1]) is 'x' or 'o' or 'b')
        {
            long prefixBase = char.ToLowerInvariant(s[1]) switch { 'x' => 16, 'o' => 8, _ => 2 };
            if (numberBase != 0 && numberBase != prefixBase) return null;
            (numberBase, s) = (prefixBase, s[2..]);
        }
        if (numberBase == 0) numberBase = 10;
        if (s.Length == 0 || numberBase is < 2 or > 36) return null;
        long n = 0;
        foreach (char c in s)
        {
            int digit = char.IsAsciiDigit(c) ? c - '0' : char.IsAsciiLetter(c) ? char.ToLowerInvariant(c) - 'a' + 10 : 99;
            if (digit >= numberBase) return null;
            n = checked(n * numberBase + digit);
        }
        return negative ? -n : n;
    }

    /// <summary>Python's <c>float(value)</c>, or null where Python raises a TypeError or ValueError.</summary>
    private static double? ToFloat(object? value)
    {
        switch (value)
        {
            case Undefined u: throw u.Fail();
            case bool or long or double: return Numbers.ToDouble(value);
            case string or Markup:
                string s = PyString.Strip(Text(value), null).Replace("_", "").ToLowerInvariant();
                string unsigned = s.TrimStart('+', '-');
                double sign = s.StartsWith('-') ? -1 : 1;
                if (unsigned is "inf" or "infinity") return sign * double.PositiveInfinity;
                if (unsigned == "nan") return double.NaN;
                return unsigned.Length > 0 && (char.IsAsciiDigit(unsigned[0]) || unsigned[0] == '.')
                    && double.TryParse(s, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out double d) ? d : null;
            default: return null;
        }
    }

    private static string Join(object? value, Arguments a)
    {
        var b = a.Bind("join", "d", "attribute");
        var items = Iteration.Iterate(value);
        if (b.Has(1)) items = items.Select(AttributeGetter(b.Get(1)));
        return string.Join(Text(b.Get(0, "")), items.Select(Printing.Str));
    }

    private static object? Last(object? value, Arguments a)
    {
        NoArguments("last", a, value);
        if (value is GeneratorValue) throw new RenderError("'generator' object is not reversible");
        var items = Iteration.ToList(value);
        return items.Count > 0 ? items[^1] : new Undefined("No last item, sequence was empty.");
    }

    /// <summary><c>map(attribute=...)</c> (with an optional <c>default</c>) or <c>map('filter', args...)</c>.</summary>
    private static GeneratorValue Map(object? value, Arguments a)
    {
        Func<object?, object?> f;
        if (a.Positional.Count == 0 && a.Keywords.Any(k => k.Key == "attribute"))
        {
            var b = a.Bind("map", "attribute", "default");
            f = AttributeGetter(b.Get(0), b.Get(1));
        }
        else
        {
            if (a.Positional.Count == 0) throw new RenderError("map requires a filter argument");
            string name = Coerce.ToStr(a.Positional[0], "map()'s filter name");
            var rest = new Arguments([.. a.Positional.Skip(1)], a.Keywords);
            f = item => Apply(name, item, rest);
        }
        return new GeneratorValue(Iteration.Iterate(value).Select(f));
    }

    private static object? MinOrMax(object? value, Arguments a, string name)
    {
        var b = a.Bind(name, "case_sensitive", "attribute");
        var items = Iteration.ToList(value);
        if (items.Count == 0) return new Undefined("No aggregated item, sequence was empty.");
        var key = AttributeGetter(b.Get(1));
        bool caseSensitive = b.Bool(0, false);
        object? best = items[0];
        object? bestKey = CaseFold(key(best), caseSensitive);
        foreach (object? item in items.Skip(1))
        {
            object? k = CaseFold(key(item), caseSensitive);
            if (Ordering.Compare(k, bestKey, name == "max" ? ">" : "<")) (best, bestKey) = (item, k);
        }
        return best;
    }

    /// <summary><c>select</c>/<c>reject</c>(test, args...) and <c>selectattr</c>/<c>rejectattr</c>(attribute, test, args...); without a test, truth decides.</summary>
    private static GeneratorValue SelectOrReject(object? value, Arguments a, bool select, bool byAttribute)
    {
        if (!Truth.IsTrue(value) && value is not GeneratorValue) return new GeneratorValue([]);
        int offset = byAttribute ? 1 : 0;
        if (byAttribute && a.Positional.Count == 0) throw new RenderError("Missing parameter for attribute name");
        var get = byAttribute ? AttributeGetter(a.Positional[0]) : (x => x);
        Func<object?, bool> test;
        if (a.Positional.Count > offset)
        {
            string name = Coerce.ToStr(a.Positional[offset], "the test name");
            var rest = new Arguments([.. a.Positional.Skip(offset + 1)], a.Keywords);
            test = x => Tests.Apply(name, x, rest);
        }
        else test = Truth.IsTrue;
        return new GeneratorValue(Iteration.Iterate(value).Where(item => test(get(item)) == select));
    }

    private static string Replace(object? value, Arguments a)
    {
        var b = a.Bind("replace", "old", "new", "count");
        long count = b.Get(2) is null ? -1 : b.Int(2, -1);
        return Methods.Replace(Text(value), Text(b.Required(0)), Text(b.Required(1)), count);
    }

    private static object? Reverse(object? value, Arguments a)
    {
        switch (NoArguments("reverse", a, value))
        {
            case string or Markup: return PyString.Slice(Text(value), Enumerable.Range(0, PyString.Length(Text(value))).Reverse());
            case ListValue or DictValue: return new GeneratorValue(Iteration.ToList(value).AsEnumerable().Reverse());
            default:
                var items = Iteration.ToList(value);
                items.Reverse();
                return new ListValue(items);
        }
    }

    private static object? Round(object? value, Arguments a)
    {
        var b = a.Bind("round", "precision", "method");
        long precision = b.Int(0, 0);
        string method = b.String(1, "common")!;
        if (method is not ("common" or "ceil" or "floor")) throw new RenderError("method must be common, ceil or floor");
        if (value is Undefined u) throw u.Fail();
        if (!Numbers.IsNumber(value)) throw new RenderError($"type {TypeNames.Of(value)} doesn't define __round__ method");
        if (method != "common")
        {
            double scale = Math.Pow(10, precision);
            double scaled = Numbers.ToDouble(value!) * scale;
            return (method == "ceil" ? Math.Ceiling(scaled) : Math.Floor(scaled)) / scale;
        }
        if (value is double d) return RoundHalfEven(d, precision);
        long n = Numbers.AsInt(value)!.Value;
        if (precision >= 0) return n;
        var unit = BigInteger.Pow(10, (int)Math.Min(-precision, 30));
        return (long)(RoundRational(n, unit) * unit);
    }

    /// <summary>Python's <c>round(x, n)</c> on a float: the exact binary value rounded half to even at 10^-n, read back as the nearest float.</summary>
    private static double RoundHalfEven(double d, long precision)
    {
        if (!double.IsFinite(d) || d == 0) return d;
        if (precision > 350) return d;
        if (precision < -350) return 0.0 * Math.Sign(d);
        long bits = BitConverter.DoubleToInt64Bits(d);
        int exponent = (int)((bits >> 52) & 0x7FF);
        long mantissa = bits & 0xFFFFFFFFFFFFFL;
        if (exponent == 0) exponent = 1; else mantissa |= 1L << 52;
        exponent -= 1075; // |d| = mantissa × 2^exponent
        BigInteger numerator = mantissa, denominator = BigInteger.One;
        if (exponent >= 0) numerator <<= exponent; else denominator <<= -exponent;
        if (precision >= 0) numerator *= BigInteger.Pow(10, (int)precision); else denominator *= BigInteger.Pow(10, (int)-precision);
        BigInteger rounded = RoundRational(numerator, denominator);
        double result = double.Parse($"{rounded}E{-precision}", CultureInfo.InvariantCulture);
        return d < 0 ? -result : result;
    }

    private static BigInteger RoundRational(BigInteger numerator, BigInteger denominator)
    {
        BigInteger quotient = BigInteger.DivRem(numerator, denominator, out BigInteger remainder);
        if (remainder.Sign < 0) { quotient -= 1; remainder += denominator; }
        int half = (remainder * 2).CompareTo(denominator);
        return half > 0 || (half == 0 && !quotient.IsEven) ? quotient + 1 : quotient;
    }

    private static ListValue Sort(object? value, Arguments a)
    {
        var b = a.Bind("sort", "reverse", "case_sensitive", "attribute");
        bool caseSensitive = b.Bool(1, false);
        var getters = b.Get(2) is string s ? s.Split(',').Select(p => AttributeGetter(p)).ToArray() : [AttributeGetter(b.Get(2))];
        object? Key(object? item) => getters.Length == 1
            ? CaseFold(getters[0](item), caseSensitive)
            : new ListValue([.. getters.Select(g => CaseFold(g(item), caseSensitive))]);
        return new ListValue(SortBy(Iteration.ToList(value), Key, b.Bool(0, false)));
    }

    private static object? Sum(object? value, Arguments a)
    {
        var b = a.Bind("sum", "attribute", "start");
        var items = Iteration.Iterate(value);
        if (b.Has(0)) items = items.Select(AttributeGetter(b.Get(0)));
        return items.Aggregate(b.Get(1, 0L), (total, item) => Arithmetic.Apply("+", total, item));
    }

    /// <summary>Jinja's <c>title</c>: each word (split at white space and <c>-({[&lt;</c>) upper-cased first, lower-cased after.</summary>
    private static string JinjaTitle(string s) => string.Concat(WordBeginningRegex().Split(s)
        .Where(item => item.Length > 0)
        .Select(item => PyString.Upper(PyString.Slice(item, [0])) + PyString.Lower(PyString.Slice(item, Enumerable.Range(1, PyString.Length(item) - 1)))));

    /// <summary>
    /// transformers' <c>tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)</c>, which is
    /// <c>json.dumps</c> with those arguments (in that order, so a lone positional argument is <c>ensure_ascii</c>).
    /// </summary>
    private static string ToJson(object? value, Arguments a)
    {
        var b = a.Bind("tojson", "ensure_ascii", "indent", "separators", "sort_keys");
        string? indent = b.Get(1) switch
        {
            null => null,
            string or Markup => Text(b.Get(1)),
            var n => new string(' ', (int)Math.Max(0, Coerce.ToInt(n, "tojson() indent"))),
        };
        (string, string)? separators = null;
        if (b.Get(2) is not null)
        {
            var pair = Iteration.ToList(b.Get(2));
            if (pair.Count != 2) throw new RenderError("tojson() separators must be an (item_separator, key_separator) pair.");
            separators = (Coerce.ToStr(pair[0], "tojson() item separator"), Coerce.ToStr(pair[1], "tojson() key separator"));
        }
        return PyJson.Dumps(value, indent, separators, b.Bool(3, false), b.Bool(0, false));
    }

    private static string Truncate(object? value, Arguments a)
    {
        var b = a.Bind("truncate", "length", "killwords", "end", "leeway");
        string s = Text(value);
        long length = b.Int(0, 255);
        string end = b.String(2, "...")!;
        long leeway = b.Get(3) is null ? 5 : b.Int(3, 5);
        if (length < PyString.Length(end)) throw new RenderError($"expected length >= {PyString.Length(end)}, got {length}");
        if (leeway < 0) throw new RenderError($"expected leeway >= 0, got {leeway}");
        if (PyString.Length(s) <= length + leeway) return s;
        string head = PyString.Slice(s, Enumerable.Range(0, (int)length - PyString.Length(end)));
        if (b.Bool(1, false)) return head + end;
        int space = head.LastIndexOf(' ');
        return (space < 0 ? head : head[..space]) + end;
    }

    private static GeneratorValue Unique(object? value, Arguments a)
    {
        var b = a.Bind("unique", "case_sensitive", "attribute");
        bool caseSensitive = b.Bool(0, false);
        var key = AttributeGetter(b.Get(1));
        return new GeneratorValue(Distinct(Iteration.Iterate(value), item => CaseFold(key(item), caseSensitive)));
    }

    private static IEnumerable<object?> Distinct(IEnumerable<object?> items, Func<object?, object?> key)
    {
        var seen = new DictValue();
        foreach (object? item in items)
        {
            object? k = key(item);
            if (seen.ContainsKey(k)) continue;
            seen.Set(k, null);
            yield return item;
        }
    }
}
