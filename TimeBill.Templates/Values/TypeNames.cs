namespace TimeBill.Templates.Values;

/// <summary>Python's type names for values, as error messages name them.</summary>
internal static class TypeNames
{
    public static string Of(object? value) => value switch
    {
        null => "NoneType",
        bool => "bool",
        long => "int",
        double => "float",
        string => "str",
        Markup => "Markup",
        ListValue l => l.Kind switch
        {
            SequenceKind.Tuple => "tuple",
            SequenceKind.DictKeys => "dict_keys",
            SequenceKind.DictValues => "dict_values",
            SequenceKind.DictItems => "dict_items",
            SequenceKind.Range => "range",
            _ => "list",
        },
        DictValue => "dict",
        Undefined => "Undefined",
        Namespace => "Namespace",
        LoopContext => "LoopContext",
        GeneratorValue => "generator",
        Callable => "function",
        BoundMethod => "builtin_function_or_method",
        _ => value.GetType().Name,
    };

    /// <summary>Jinja's <c>object_type_repr</c>: <c>None</c>, or <c>'dict object'</c> and the like.</summary>
    public static string ObjectRepr(object? value) => value is null ? "None" : $"{Of(value)} object";
}
