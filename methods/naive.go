package methods

func init() {
	Register(Info{
		Name:           "naive",
		Summary:        "plain sequential fine-tuning (the forgetting baseline)",
		Defaults:       map[string]string{},
		Label:          "baseline (naive)",
		Rank:           0,
		PlainFirstWake: AlwaysPlain,
		Role:           RoleBaseline,
		New: func(cfg Config) (Method, error) {
			if err := Parse(cfg, nil).Err(); err != nil {
				return nil, err
			}
			return naive{}, nil
		},
	})
}
