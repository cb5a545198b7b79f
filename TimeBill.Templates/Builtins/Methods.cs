using System.Text;
using TimeBill.Templates.Evaluation;
using TimeBill.Templates.Python;
using TimeBill.Templates.Values;

namespace TimeBill.Templates.Builtins;

/// <summary>
/// The methods templates call on values, with Python's meaning: those of <c>str</c>, the reading ones of <c>dict</c>
/// (<c>items keys values get</c>) and of lists and tuples (<c>count index</c>), and <c>loop.cycle</c> / <c>loop.changed</c>.
/// Methods that change a value (<c>append</c>, <c>update</c>, ...) are not offered, as in transformers' immutable sandbox.
/// </summary>
internal static class Methods
{
    private static readonly HashSet<string> StringMethods =
    [
        "capitalize", "center", "count", "endswith", "find", "format", "index", "isalnum", "isalpha", "isdigit", "islower",
        "isspace", "isupper", "join", "ljust", "lower", "lstrip", "replace", "rfind", "rjust", "rsplit", "rstrip", "split",
        "splitlines", "startswith", "strip", "title", "upper", "zfill",
    ];

    private static readonly HashSet<string> DictMethods = ["get", "items", "keys", "values"];

    private static readonly HashSet<string> SequenceMethods = ["count", "index"];

    private static readonly HashSet<string> LoopMethods = ["cycle", "changed"];

    /// <summary>Whether some value type has a method <paramref name="name"/> (checked when the template is parsed).</summary>
    public static bool Contains(string name) =>
        StringMethods.Contains(name) || DictMethods.Contains(name) || SequenceMethods.Contains(name) || LoopMethods.Contains(name);

    /// <summary>Whether <paramref name="target"/>'s type has the method <paramref name="name"/>.</summary>
    public static bool Has(object? target, string name) => target switch
    {
        string or Markup => StringMethods.Contains(name),
        DictValue => DictMethods.Contains(name),
        ListValue { Kind: SequenceKind.List or SequenceKind.Tuple or SequenceKind.Range } => SequenceMethods.Contains(name),
        _ => false,
    };

    public static object? Call(BoundMethod method, Arguments a) => method.Receiver switch
    {
        string or Markup => CallString(Printing.Str(method.Receiver), method.Name, a),
        DictValue d => CallDict(d, method.Name, a),
        ListValue l => CallSequence(l, method.Name, a),
        LoopContext loop => method.Name == "cycle" ? loop.Cycle(a) : loop.Changed(a),
        _ => throw new RenderError($"'{TypeNames.Of(method.Receiver)}' object has no method '{method.Name}'"),
    };

    private static object? CallString(string s, string name, Arguments a)
    {
        string what = $"str.{name}";
        BoundArguments b;
        switch (name)
        {
            case "capitalize": NoArguments(what, a); return PyString.Capitalize(s);
            case "lower": NoArguments(what, a); return PyString.Lower(s);
            case "upper": NoArguments(what, a); return PyString.Upper(s);
            case "title": NoArguments(what, a); return PyString.Title(s);
            case "isalnum": NoArguments(what, a); return s.Length > 0 && s.EnumerateRunes().All(Rune.IsLetterOrDigit);
            case "isalpha": NoArguments(what, a); return s.Length > 0 && s.EnumerateRunes().All(Rune.IsLetter);
            case "isdigit": NoArguments(what, a); return s.Length > 0 && s.EnumerateRunes().All(Rune.IsDigit);
            case "isspace": NoArguments(what, a); return PyString.IsAllSpace(s);
            case "islower": NoArguments(what, a); return PyString.IsCase(s, upper: false);
            case "isupper": NoArguments(what, a); return PyString.IsCase(s, upper: true);
            case "splitlines": NoArguments(what, a); return StringList(PyString.SplitLines(s));
            case "strip" or "lstrip" or "rstrip":
                b = a.Bind(what, "chars");
                return PyString.Strip(s, OptionalString(b, 0, what), left: name != "rstrip", right: name != "lstrip");
            case "split" or "rsplit":
                b = a.Bind(what, "sep", "maxsplit");
                string? sep = OptionalString(b, 0, what);
                if (sep is "") throw new RenderError($"{what}(): empty separator");
                long max = b.Int(1, -1);
                return StringList(name == "split" ? PyString.Split(s, sep, max) : PyString.RSplit(s, sep, max));
            case "startswith" or "endswith":
                b = a.Bind(what, name == "startswith" ? "prefix" : "suffix", "start", "end");
                string window = Window(s, b, 1, 2);
                return Affixes(b.Required(0), what).Any(x => name == "startswith"
                    ? window.StartsWith(x, StringComparison.Ordinal) : window.EndsWith(x, StringComparison.Ordinal));
            case "find" or "rfind" or "index":
                b = a.Bind(what, "sub", "start", "end");
                string sub = Str(b.Required(0), what);
                int offset = WindowStart(s, b, 1);
                string within = Window(s, b, 1, 2);
                int at = name == "rfind" ? within.LastIndexOf(sub, StringComparison.Ordinal) : within.IndexOf(sub, StringComparison.Ordinal);
                if (at < 0 && name == "index") throw new RenderError("substring not found");
                return at < 0 ? -1L : (long)PyString.CodePointIndex(s, offset + at);
            case "count":
                b = a.Bind(what, "sub", "start", "end");
                return CountOccurrences(Window(s, b, 1, 2), Str(b.Required(0), what));
            case "replace":
                b = a.Bind(what, "old", "new", "count");
                return Replace(s, Str(b.Required(0), what), Str(b.Required(1), what), b.Int(2, -1));
            case "join":
                b = a.Bind(what, "iterable");
                return string.Join(s, Iteration.Iterate(b.Required(0)).Select((item, i) => item is string or Markup
                    ? Printing.Str(item) : throw new RenderError($"sequence item {i}: expected str instance, {TypeNames.Of(item)} found")));
            case "center" or "ljust" or "rjust":
                b = a.Bind(what, "width", "fillchar");
                int width = (int)Math.Min(b.Int(0, 0), int.MaxValue);
                string fill = b.String(1, " ")!;
                if (PyString.Length(fill) != 1) throw new RenderError($"{what}(): the fill character must be exactly one character long");
                int pad = width - PyString.Length(s);
                if (pad <= 0) return s;
                return name switch
                {
                    "center" => PyString.Center(s, width, fill[0]),
                    "ljust" => s + new string(fill[0], pad),
                    _ => new string(fill[0], pad) + s,
                };
            case "zfill":
                b = a.Bind(what, "width");
                int zeros = (int)Math.Min(b.Int(0, 0), int.MaxValue) - PyString.Length(s);
                if (zeros <= 0) return s;
                int signLength = s.Length > 0 && s[0] is '+' or '-' ? 1 : 0;
                return s[..signLength] + new string('0', zeros) + s[signLength..];
            case "format":
                return PyFormat.Format(s, a.Positional, a.Keywords.ToDictionary(k => k.Key, k => k.Value));
        }
        throw new RenderError($"str has no method '{name}'");
    }

    private static object? CallDict(DictValue d, string name, Arguments a)
    {
        string what = $"dict.{name}";
        switch (name)
        {
            case "get":
                var b = a.Bind(what, "key", "default");
                object? key = b.Required(0);
                Equality.RequireHashable(key);
                return d.TryGet(key, out var value) ? value : b.Get(1);
            case "items":
                NoArguments(what, a);
                return new ListValue([.. d.Pairs.Select(p => (object?)ListValue.Tuple(p.Key, p.Value))], SequenceKind.DictItems);
            case "keys":
                NoArguments(what, a);
                return new ListValue([.. d.Keys], SequenceKind.DictKeys);
            case "values":
                NoArguments(what, a);
                return new ListValue([.. d.Values], SequenceKind.DictValues);
        }
        throw new RenderError($"dict has no method '{name}'");
    }

    private static object? CallSequence(ListValue l, string name, Arguments a)
    {
        object? x = a.Bind($"{TypeNames.Of(l)}.{name}", "value").Required(0);
        if (name == "count") return (long)l.Items.Count(item => Equality.Equal(item, x));
        for (int i = 0; i < l.Count; i++) if (Equality.Equal(l.Items[i], x)) return (long)i;
        throw new RenderError($"{Printing.Repr(x)} is not in {TypeNames.Of(l)}");
    }

    private static void NoArguments(string what, Arguments a)
    {
        if (a.Positional.Count + a.Keywords.Count > 0) throw new RenderError($"{what}() takes no arguments");
    }

    private static string Str(object? value, string what) => Coerce.ToStr(value, $"{what}() argument");

    private static string? OptionalString(BoundArguments b, int i, string what) => b.Get(i) is null ? null : Str(b.Get(i), what);

    private static ListValue StringList(List<string> parts) => new([.. parts]);

    private static IEnumerable<string> Affixes(object? value, string what) => value is ListValue { Kind: SequenceKind.Tuple } t
        ? t.Items.Select(x => Str(x, what))
        : [Str(value, what)];

    /// <summary>The <c>[start:end]</c> part of <paramref name="s"/> a method's <c>start</c>/<c>end</c> arguments select, by code point.</summary>
    private static string Window(string s, BoundArguments b, int startIndex, int endIndex)
    {
        int length = PyString.Length(s);
        var slice = new SliceValue(Bound(b, startIndex), Bound(b, endIndex), null);
        return b.Has(startIndex) || b.Has(endIndex) ? PyString.Slice(s, slice.Indices(length)) : s;
    }

    private static int WindowStart(string s, BoundArguments b, int startIndex)
    {
        if (Bound(b, startIndex) is not long start) return 0;
        int length = PyString.Length(s);
        return PyString.Utf16Index(s, (int)Math.Clamp(start < 0 ? start + length : start, 0, length));
    }

    private static long? Bound(BoundArguments b, int i) => b.Get(i) is null ? null : Coerce.ToInt(b.Get(i), "a slice bound");

    private static long CountOccurrences(string s, string sub)
    {
        if (sub.Length == 0) return PyString.Length(s) + 1;
        long n = 0;
        for (int at = s.IndexOf(sub, StringComparison.Ordinal); at >= 0; at = s.IndexOf(sub, at + sub.Length, StringComparison.Ordinal)) n++;
        return n;
    }

    /// <summary><c>str.replace</c>: at most <paramref name="count"/> replacements (all when negative); an empty <paramref name="old"/> inserts between characters.</summary>
    public static string Replace(string s, string old, string replacement, long count)
    {
        var sb = new StringBuilder();
        long done = 0;
        if (old.Length == 0)
        {
            foreach (string c in PyString.Chars(s))
            {
                if (count < 0 || done < count) { sb.Append(replacement); done++; }
                sb.Append(c);
            }
            if (count < 0 || done < count) sb.Append(replacement);
            return sb.ToString();
        }
        int from = 0;
        while (count < 0 || done < count)
        {
            int at = s.IndexOf(old, from, StringComparison.Ordinal);
            if (at < 0) break;
            sb.Append(s, from, at - from).Append(replacement);
            from = at + old.Length;
            done++;
        }
        return sb.Append(s, from, s.Length - from).ToString();
    }
}
