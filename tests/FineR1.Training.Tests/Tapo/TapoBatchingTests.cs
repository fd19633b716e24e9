using FineR1.Training.Tapo;

namespace FineR1.Training.Tests.Tapo;

/// <summary>Intra-class group composition and DAPO dynamic sampling (docs/method.md §5.3, §5.8).</summary>
public sealed class TapoBatchingTests
{
    [Fact]
    public void Generation_inputs_interleave_anchor_and_positive()
    {
        Assert.Equal([(0, TripletImage.Anchor), (0, TripletImage.Positive), (1, TripletImage.Anchor), (1, TripletImage.Positive)],
            IntraClassGroups.GenerationInputs(2));
    }

    [Fact]
    public void Rows_follow_reference_order_and_share_one_uid_per_prompt()
    {
        var rows = IntraClassGroups.ComposeRows(["u0", "u1"], n: 5);
        Assert.Equal(20, rows.Count);
        Assert.All(rows.Take(10), r => Assert.Equal("u0", r.GroupId));
        Assert.All(rows.Skip(10), r => Assert.Equal("u1", r.GroupId));
        Assert.All(rows.Take(5), r => Assert.Equal(TripletImage.Anchor, r.GeneratedFrom));
        Assert.All(rows.Skip(5).Take(5), r => Assert.Equal(TripletImage.Positive, r.GeneratedFrom));
        Assert.Equal([0, 1, 2, 3, 4, 0, 1, 2, 3, 4], rows.Take(10).Select(r => r.SampleIndex));
        Assert.All(rows, r => Assert.Equal(TripletImage.Negative, r.AugLogProbImage));
        Assert.All(rows, r => Assert.Equal(TripletImage.Anchor, r.PromptImage));
    }

    [Theory]
    [InlineData(PositiveRolloutConditioning.GenerationImage, TripletImage.Positive)]
    [InlineData(PositiveRolloutConditioning.Anchor, TripletImage.Anchor)]
    public void Positive_rows_log_prob_image_follows_the_option(PositiveRolloutConditioning conditioning, TripletImage expected)
    {
        var rows = IntraClassGroups.ComposeRows(["u"], n: 2, conditioning);
        Assert.Equal(TripletImage.Anchor, rows[0].LogProbImage);
        Assert.Equal(expected, rows[2].LogProbImage);
        Assert.Equal(expected, rows[3].LogProbImage);
    }

    [Fact]
    public void Duplicate_uids_are_rejected() =>
        Assert.Throws<ArgumentException>(() => IntraClassGroups.ComposeRows(["a", "a"], 5));

    [Fact]
    public void Filter_keeps_groups_strictly_between_bounds()
    {
        string[] ids = ["a", "a", "b", "b", "c", "c"];
        double[] acc = [1, 0, 1, 1, 0, 0];
        Assert.Equal([0, 1], DynamicSampling.KeptRows(ids, acc));
        Assert.Equal(["a"], DynamicSampling.KeptGroupIds(ids, acc));
    }

    [Fact]
    public void Filter_keeps_the_whole_draw_when_every_group_is_dropped()
    {
        string[] ids = ["a", "a", "b", "b"];
        Assert.Equal([0, 1, 2, 3], DynamicSampling.KeptRows(ids, [1.0, 1, 0, 0]));
    }

    [Fact]
    public void Accumulator_collects_until_target_and_cuts_to_first_groups()
    {
        var acc = new DynamicBatchAccumulator<int>(targetGroups: 2);
        Assert.False(acc.Add([0, 1, 2, 3], ["a", "a", "b", "b"], [1, 0, 1, 1])); // only a survives
        Assert.True(acc.Add([4, 5, 6, 7], ["c", "c", "d", "d"], [0, 1, 1, 0])); // c and d
        Assert.Equal(3, acc.GroupCount);
        var batch = acc.TakeBatch();
        Assert.Equal([0, 1, 4, 5], batch.Select(r => r.Row));
        Assert.Equal(2, acc.Tries);
    }

    [Fact]
    public void Accumulator_throws_at_the_retry_limit()
    {
        var acc = new DynamicBatchAccumulator<int>(targetGroups: 5, maxTries: 2);
        acc.Add([0, 1], ["a", "a"], [1, 0]);
        var ex = Assert.Throws<InvalidOperationException>(() => acc.Add([2, 3], ["b", "b"], [1, 0]));
        Assert.Contains("limit 2", ex.Message);
    }
}
