namespace TimeBill.Templates.Values;

/// <summary>
/// A one-shot Python iterator, as filters such as <c>select</c>, <c>map</c>, <c>unique</c> and <c>items</c> return:
/// iterating it consumes it (a second loop over it sees nothing), it has no length and cannot be printed.
/// </summary>
internal sealed class GeneratorValue(IEnumerable<object?> source)
{
    private readonly IEnumerator<object?> _rest = source.GetEnumerator();

    /// <summary>The items not consumed yet, each consumed as it is taken.</summary>
    public IEnumerable<object?> Consume()
    {
        while (_rest.MoveNext()) yield return _rest.Current;
    }
}
