package main

import (
	"github.com/spf13/cobra"
)

func (a *app) userCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "user",
		Short: "Manage users and API tokens",
	}
}
