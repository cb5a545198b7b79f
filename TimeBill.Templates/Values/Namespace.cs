namespace TimeBill.Templates.Values;

/// <summary>Jinja's <c>namespace(...)</c>: attributes a <c>{% set ns.attr = ... %}</c> can change from inside a loop.</summary>
internal sealed class Namespace
{
    public OrderedDictionary<string, object?> Attributes { get; } = new(StringComparer.Ordinal);
}
