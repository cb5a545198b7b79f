using TimeBill.Templates.Evaluation;
using TimeBill.Templates.Python;

namespace TimeBill.Templates.Values;

/// <summary>Python's <c>iter()</c> and <c>len()</c>: strings by character, dicts by key, undefined as empty.</summary>
internal static class Iteration
{
    public static IEnumerable<object?> Iterate(object? value) => value switch
    {
        string s => PyString.Chars(s),
        Markup m => PyString.Chars(m.Text),
        ListValue l => l.Items,
        DictValue d => d.Keys,
        GeneratorValue g => g.Consume(),
        Undefined => [],
        _ => throw new RenderError($"'{TypeNames.Of(value)}' object is not iterable"),
    };

    public static List<object?> ToList(object? value) => [.. Iterate(value)];

    public static bool IsIterable(object? value) => value is string or Markup or ListValue or DictValue or GeneratorValue or Undefined;

    public static long Length(object? value) => value switch
    {
        string s => PyString.Length(s),
        Markup m => PyString.Length(m.Text),
        ListValue l => l.Count,
        DictValue d => d.Count,
        Undefined => 0,
        _ => throw new RenderError($"object of type '{TypeNames.Of(value)}' has no len()"),
    };
}
