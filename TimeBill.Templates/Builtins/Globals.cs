using TimeBill.Templates.Evaluation;
using TimeBill.Templates.Python;
using TimeBill.Templates.Values;

namespace TimeBill.Templates.Builtins;

/// <summary>
/// The functions every template sees: Jinja's <c>range</c>, <c>namespace</c> and <c>dict</c>, and the two that
/// transformers adds for chat templates, <c>raise_exception(message)</c> and <c>strftime_now(format)</c>.
/// </summary>
internal static class Globals
{
    /// <summary>Jinja's sandbox refuses larger ranges; so does this.</summary>
    private const long MaxRange = 100_000;

    private static readonly Callable[] Functions =
    [
        new BuiltinFunction("range", (a, _) => Range(a)),
        new BuiltinFunction("namespace", (a, _) => MakeNamespace(a)),
        new BuiltinFunction("dict", (a, _) => MakeDict("dict", a)),
        new BuiltinFunction("raise_exception", (a, _) => throw new RenderError(Printing.Str(a.Bind("raise_exception", "message").Required(0)), raisedByTemplate: true)),
        new BuiltinFunction("strftime_now", (a, r) => PyStrftime.Format(r.LocalNow, a.Bind("strftime_now", "format").String(0, null) ?? throw new RenderError("strftime_now() missing required argument 'format'."))),
    ];

    /// <summary>The scope above the template's variables, holding these functions.</summary>
    public static Scope Scope { get; } = BuildScope();

    public static bool Contains(string name) => Functions.Any(f => f.Name == name);

    private static Scope BuildScope()
    {
        var scope = new Scope(null);
        foreach (Callable f in Functions) scope.Set(f.Name, f);
        return scope;
    }

    private static ListValue Range(Arguments arguments)
    {
        if (arguments.Keywords.Count > 0) throw new RenderError("range() takes no keyword arguments.");
        var ints = arguments.Positional.Select((v, i) => Coerce.ToInt(v, $"range() argument {i + 1}")).ToArray();
        (long start, long stop, long step) = ints.Length switch
        {
            1 => (0L, ints[0], 1L),
            2 => (ints[0], ints[1], 1L),
            3 => (ints[0], ints[1], ints[2]),
            _ => throw new RenderError($"range() takes 1 to 3 arguments, {ints.Length} given."),
        };
        if (step == 0) throw new RenderError("range() arg 3 must not be zero");
        long count = step > 0 ? (stop > start ? (stop - start + step - 1) / step : 0) : (start > stop ? (start - stop - step - 1) / -step : 0);
        if (count > MaxRange) throw new RenderError($"range too big: {count} items (at most {MaxRange}).");
        var items = new object?[count];
        for (long i = 0; i < count; i++) items[i] = start + i * step;
        return ListValue.Range(start, stop, step, items);
    }

    private static Namespace MakeNamespace(Arguments arguments)
    {
        var ns = new Namespace();
        foreach (var (key, value) in MakeDict("namespace", arguments).Pairs)
            ns.Attributes[key as string ?? throw new RenderError("namespace() keys must be strings.")] = value;
        return ns;
    }

    /// <summary>Python's <c>dict(mapping_or_pairs, **kwargs)</c>.</summary>
    private static DictValue MakeDict(string name, Arguments arguments)
    {
        if (arguments.Positional.Count > 1) throw new RenderError($"{name}() takes at most 1 positional argument, {arguments.Positional.Count} given.");
        var dict = new DictValue();
        if (arguments.Positional.Count == 1)
        {
            object? source = arguments.Positional[0];
            if (source is DictValue d)
                foreach (var (key, value) in d.Pairs) dict.Set(key, value);
            else
                foreach (object? pair in Iteration.Iterate(source))
                {
                    var kv = Iteration.ToList(pair);
                    if (kv.Count != 2) throw new RenderError($"{name}(): each item of the sequence must be a pair, got {kv.Count} element(s).");
                    dict.Set(kv[0], kv[1]);
                }
        }
        foreach (var (key, value) in arguments.Keywords) dict.Set(key, value);
        return dict;
    }
}
