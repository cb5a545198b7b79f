using TimeBill.Templates.Evaluation;
using TimeBill.Templates.Python;
using TimeBill.Templates.Values;

namespace TimeBill.Templates.Builtins;

/// <summary>Jinja's tests (<c>x is name(args)</c>), with Jinja's meaning of each.</summary>
internal static class Tests
{
    private delegate bool Test(object? value, Arguments arguments);

    private static readonly Dictionary<string, Test> All = Build();

    public static bool Contains(string name) => All.ContainsKey(name);

    public static bool Apply(string name, object? value, Arguments arguments) =>
        All.TryGetValue(name, out var test) ? test(value, arguments) : throw new RenderError($"no test named '{name}'");

    private static Dictionary<string, Test> Build()
    {
        var tests = new Dictionary<string, Test>(StringComparer.Ordinal)
        {
            ["defined"] = (v, a) => NoArguments("defined", a) && v is not Undefined,
            ["undefined"] = (v, a) => NoArguments("undefined", a) && v is Undefined,
            ["none"] = (v, a) => NoArguments("none", a) && v is null,
            ["boolean"] = (v, a) => NoArguments("boolean", a) && v is bool,
            ["true"] = (v, a) => NoArguments("true", a) && v is true,
            ["false"] = (v, a) => NoArguments("false", a) && v is false,
            ["integer"] = (v, a) => NoArguments("integer", a) && v is long,
            ["float"] = (v, a) => NoArguments("float", a) && v is double,
            ["number"] = (v, a) => NoArguments("number", a) && Numbers.IsNumber(v),
            ["string"] = (v, a) => NoArguments("string", a) && v is string or Markup,
            ["mapping"] = (v, a) => NoArguments("mapping", a) && v is DictValue,
            ["iterable"] = (v, a) => NoArguments("iterable", a) && (Iteration.IsIterable(v) || v is LoopContext),
            // Python's test: has len() and item access; Jinja's Undefined has both.
            ["sequence"] = (v, a) => NoArguments("sequence", a) && v is string or Markup or DictValue or Undefined
                or ListValue { Kind: SequenceKind.List or SequenceKind.Tuple or SequenceKind.Range },
            ["callable"] = (v, a) => NoArguments("callable", a) && v is Callable or BoundMethod,
            ["escaped"] = (v, a) => NoArguments("escaped", a) && v is Markup,
            ["lower"] = (v, a) => NoArguments("lower", a) && PyString.IsCase(Printing.Str(v), upper: false),
            ["upper"] = (v, a) => NoArguments("upper", a) && PyString.IsCase(Printing.Str(v), upper: true),
            ["odd"] = (v, a) => NoArguments("odd", a) && Equality.Equal(Arithmetic.Apply("%", v, 2L), 1L),
            ["even"] = (v, a) => NoArguments("even", a) && Equality.Equal(Arithmetic.Apply("%", v, 2L), 0L),
            ["divisibleby"] = (v, a) => Equality.Equal(Arithmetic.Apply("%", v, One(a, "divisibleby", "num")), 0L),
            ["sameas"] = (v, a) => SameAs(v, One(a, "sameas", "other")),
            ["in"] = (v, a) => Membership.Contains(One(a, "in", "seq"), v),
            ["filter"] = (v, a) => NoArguments("filter", a) && v is string f && Filters.Contains(f),
            ["test"] = (v, a) => NoArguments("test", a) && v is string t && All.ContainsKey(t),
        };
        foreach (var (names, op) in new (string[], string)[]
        {
            (["eq", "equalto", "=="], "=="), (["ne", "!="], "!="), (["lt", "lessthan", "<"], "<"), (["le", "<="], "<="),
            (["gt", "greaterthan", ">"], ">"), (["ge", ">="], ">="),
        })
        {
            foreach (string name in names)
                tests[name] = (v, a) =>
                {
                    object? other = One(a, name, "other");
                    return op switch
                    {
                        "==" => Equality.Equal(v, other),
                        "!=" => !Equality.Equal(v, other),
                        _ => Ordering.Compare(v, other, op),
                    };
                };
        }
        return tests;
    }

    private static bool NoArguments(string name, Arguments arguments) =>
        arguments.Positional.Count + arguments.Keywords.Count == 0 ? true : throw new RenderError($"the test '{name}' takes no arguments.");

    private static object? One(Arguments arguments, string name, string parameter) => arguments.Bind(name, parameter).Required(0);

    /// <summary>
    /// Python's <c>is</c>: none, true and false are singletons; numbers and strings of equal value count as the same
    /// (as CPython's cached small ints and interned literals are); containers only when they are the same object.
    /// </summary>
    private static bool SameAs(object? a, object? b) => (a, b) switch
    {
        (null, null) => true,
        (bool x, bool y) => x == y,
        (long x, long y) => x == y,
        (double x, double y) => x.Equals(y),
        (string x, string y) => x == y,
        _ => a is not null && ReferenceEquals(a, b),
    };
}
