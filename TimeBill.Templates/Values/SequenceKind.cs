namespace TimeBill.Templates.Values;

/// <summary>Which Python sequence a <see cref="ListValue"/> stands for; it decides how the value prints and compares.</summary>
internal enum SequenceKind
{
    List,
    Tuple,
    /// <summary><c>dict.keys()</c>, printed <c>dict_keys([...])</c>.</summary>
    DictKeys,
    /// <summary><c>dict.values()</c>, printed <c>dict_values([...])</c>.</summary>
    DictValues,
    /// <summary><c>dict.items()</c>, printed <c>dict_items([(k, v), ...])</c>.</summary>
    DictItems,
    /// <summary><c>range(...)</c>, printed <c>range(start, stop[, step])</c>.</summary>
    Range,
}
