package updater

import "github.com/hoist-dev/hoist/store"

// OpenStore opens a real store for the updater's tests.
func OpenStore(dir string, readOnly bool) (*store.Store[Plan], error) {
	return store.Open[Plan](dir, readOnly)
}

// Store is the store's type the tests open.
type Store = store.Store[Plan]
