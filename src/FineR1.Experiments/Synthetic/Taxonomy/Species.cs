namespace FineR1.Experiments.Synthetic.Taxonomy;

/// <summary>
/// A sub-category ("species"): a generated name and one value per attribute of its super-category. Two species
/// whose values differ in exactly one attribute are <em>one-attribute neighbours</em> (the hard negatives).
/// </summary>
public sealed class Species
{
    private readonly int[] _values;

    /// <summary>Position in <see cref="FgvrSynthWorld.Species"/>.</summary>
    public int Index { get; }

    /// <summary>The name ("Varen Tanager"); no name is a case-insensitive substring of another (the paper scores by substring).</summary>
    public string Name { get; }

    /// <summary>The super-category.</summary>
    public SuperCategory SuperCategory { get; }

    /// <summary>Value index per attribute of <see cref="SuperCategory"/>.</summary>
    public IReadOnlyList<int> Values => _values;

    /// <summary>True for the 60 % of sub-categories used in training (the seen split); false for unseen ones.</summary>
    public bool IsSeen { get; internal set; }

    /// <summary>Folder name in the folder-per-class layout: spaces become underscores ("Varen_Tanager"), which
    /// <see cref="FineR1.Training.Data.ClassFolderDataset.ClassNameFromFolder"/> turns back into <see cref="Name"/>.</summary>
    public string FolderName => Name.Replace(' ', '_');

    internal Species(int index, string name, SuperCategory superCategory, int[] values)
    {
        Index = index; Name = name; SuperCategory = superCategory; _values = values;
    }

    /// <summary>The value of attribute <paramref name="attribute"/>.</summary>
    public AttributeValue Value(int attribute) => SuperCategory.Attributes[attribute].Values[_values[attribute]];

    /// <summary>The attribute phrases, in attribute order ("a crimson crown", "double white wing bars", …).</summary>
    public IReadOnlyList<string> Phrases => Enumerable.Range(0, _values.Length).Select(a => Value(a).Phrase).ToList();

    /// <summary>Indices of the attributes in which <paramref name="other"/> differs (empty for itself; all of them across super-categories).</summary>
    public IReadOnlyList<int> DifferingAttributes(Species other)
    {
        if (other.SuperCategory != SuperCategory) return Enumerable.Range(0, _values.Length).ToList();
        return Enumerable.Range(0, _values.Length).Where(a => _values[a] != other._values[a]).ToList();
    }

    /// <summary>Number of differing attributes (1 = one-attribute neighbour).</summary>
    public int Distance(Species other) => DifferingAttributes(other).Count;

    /// <summary>The one-attribute neighbours of this species among <paramref name="pool"/> (same super-category, exactly one attribute differs).</summary>
    public IReadOnlyList<Species> NeighboursIn(IEnumerable<Species> pool) =>
        pool.Where(o => o.SuperCategory == SuperCategory && Distance(o) == 1).ToList();

    /// <inheritdoc/>
    public override string ToString() => Name;
}
